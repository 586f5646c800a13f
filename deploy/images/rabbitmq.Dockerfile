# RabbitMQ 3.10 from Debian with the MQTT, HTTP auth backend and management plugins enabled.
# Configuration: mount /etc/rabbitmq/flotilla/ (rabbitmq.conf, enabled_plugins); the Erlang cookie comes from
# RABBITMQ_ERLANG_COOKIE (same value on every node of a cluster), the node name from the
# container's host name (rabbit@<hostname>).
ARG BASE
FROM ${BASE}
COPY rabbitmq-entrypoint.sh /usr/local/bin/rabbitmq-entrypoint.sh
EXPOSE 8883 5672 15672
HEALTHCHECK --interval=3s --timeout=10s --retries=60 CMD ["rabbitmq-diagnostics", "-q", "check_port_connectivity"]
CMD ["/usr/local/bin/rabbitmq-entrypoint.sh"]
