#!/bin/sh
# The cookie must be readable by the rabbitmq user only, or Erlang refuses it; the node runs
# in the foreground as that user (the Debian wrapper would su and detach from the signal).
# A mounted /etc/rabbitmq/flotilla/ (rabbitmq.conf, enabled_plugins) is the configuration;
# RABBITMQ_DEFAULT_USER/_PASS become its default_user/default_pass, so no secret sits in the file.
set -eu
: "${RABBITMQ_ERLANG_COOKIE:?set RABBITMQ_ERLANG_COOKIE (the same on every node)}"
HOME=/var/lib/rabbitmq
printf '%s' "$RABBITMQ_ERLANG_COOKIE" >"$HOME/.erlang.cookie"
chmod 400 "$HOME/.erlang.cookie"
# rabbitmq-diagnostics in the health check runs as root and needs the same cookie.
cp "$HOME/.erlang.cookie" /root/.erlang.cookie
unset RABBITMQ_ERLANG_COOKIE
if [ -d /etc/rabbitmq/flotilla ]; then
  cp /etc/rabbitmq/flotilla/rabbitmq.conf /etc/rabbitmq/rabbitmq.conf
  [ -f /etc/rabbitmq/flotilla/enabled_plugins ] && cp /etc/rabbitmq/flotilla/enabled_plugins /etc/rabbitmq/enabled_plugins
fi
# A mounted /etc/rabbitmq/flotilla-tls/ (deploy/ha's tls-init) holds the devices' MQTT/TLS files;
# the key is made readable by the rabbitmq user only.
if [ -d /etc/rabbitmq/flotilla-tls ]; then
  mkdir -p /etc/rabbitmq/tls
  cp /etc/rabbitmq/flotilla-tls/public.pem /etc/rabbitmq/flotilla-tls/public.key /etc/rabbitmq/flotilla-tls/device-ca.pem /etc/rabbitmq/tls/
  chown -R rabbitmq:rabbitmq /etc/rabbitmq/tls
  chmod 700 /etc/rabbitmq/tls
  chmod 600 /etc/rabbitmq/tls/public.key
fi
if [ -n "${RABBITMQ_DEFAULT_USER:-}" ]; then
  printf 'default_user = %s\ndefault_pass = %s\n' "$RABBITMQ_DEFAULT_USER" "${RABBITMQ_DEFAULT_PASS:?set RABBITMQ_DEFAULT_PASS}" >>/etc/rabbitmq/rabbitmq.conf
fi
unset RABBITMQ_DEFAULT_PASS
chown -R rabbitmq:rabbitmq "$HOME" /var/log/rabbitmq
chown rabbitmq:rabbitmq /etc/rabbitmq /etc/rabbitmq/*.conf /etc/rabbitmq/enabled_plugins 2>/dev/null || true
chmod 600 /etc/rabbitmq/rabbitmq.conf
export HOME RABBITMQ_NODENAME="${RABBITMQ_NODENAME:-rabbit@$(hostname)}"
exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups /usr/lib/rabbitmq/bin/rabbitmq-server
