# PostgreSQL 15 from Debian, initialised on first start from POSTGRES_USER / POSTGRES_PASSWORD /
# POSTGRES_DB (the variables the official image reads, so compose files stay familiar).
ARG BASE
FROM ${BASE}
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PGDATA=/var/lib/postgresql/data
EXPOSE 5432
HEALTHCHECK --interval=2s --timeout=3s --retries=60 CMD ["/usr/lib/postgresql/15/bin/pg_isready", "-q", "-h", "127.0.0.1"]
CMD ["/usr/local/bin/postgres-entrypoint.sh"]
