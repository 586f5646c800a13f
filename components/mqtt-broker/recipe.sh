# Build recipe, sourced by test/setup/build-origin-images.sh.
# Layers: base (busybox) + mqtt-clients (mosquitto_pub/_sub, used by the health check) + this one.
LAYERS=(base mqtt-clients)
# Binaries copied from Debian's packages with the shared libraries they need.
BINARIES=(/usr/sbin/mosquitto)
ENTRYPOINT='["/usr/local/bin/mqtt-broker-start"]'
CMD='[]'
USER_SPEC=''
