# Build recipe, sourced by test/setup/build-origin-images.sh.
# Layers: base (busybox) + mqtt-clients (mosquitto_pub) + this one (the scripts in rootfs/).
LAYERS=(base mqtt-clients)
BINARIES=()
ENTRYPOINT='["/usr/local/bin/sensor-sim"]'
CMD='[]'
USER_SPEC='nobody'
