# HAProxy 2.6 from Debian in the foreground; mount its configuration at /etc/haproxy/haproxy.cfg.
ARG BASE
FROM ${BASE}
CMD ["haproxy", "-W", "-db", "-f", "/etc/haproxy/haproxy.cfg"]
