# The registry (Debian's docker-registry, distribution 2.8) on :5000 with filesystem storage.
ARG BASE
FROM ${BASE}
COPY registry.yml /etc/docker/registry/flotilla.yml
EXPOSE 5000
VOLUME /var/lib/registry
CMD ["docker-registry", "serve", "/etc/docker/registry/flotilla.yml"]
