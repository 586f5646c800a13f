#!/bin/sh
# The cookie must be readable by the rabbitmq user only, or Erlang refuses it; the node runs
# in the foreground as that user (the Debian wrapper would su and detach from the signal).
set -eu
: "${RABBITMQ_ERLANG_COOKIE:?set RABBITMQ_ERLANG_COOKIE (the same on every node)}"
HOME=/var/lib/rabbitmq
printf '%s' "$RABBITMQ_ERLANG_COOKIE" >"$HOME/.erlang.cookie"
chown -R rabbitmq:rabbitmq "$HOME" /var/log/rabbitmq
chmod 400 "$HOME/.erlang.cookie"
# rabbitmq-diagnostics in the health check runs as root and needs the same cookie.
cp "$HOME/.erlang.cookie" /root/.erlang.cookie
unset RABBITMQ_ERLANG_COOKIE
export HOME RABBITMQ_NODENAME="${RABBITMQ_NODENAME:-rabbit@$(hostname)}"
exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups /usr/lib/rabbitmq/bin/rabbitmq-server
