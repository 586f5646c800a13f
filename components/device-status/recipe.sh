# Build recipe, sourced by test/setup/build-origin-images.sh.
# Layers: base (busybox: httpd, sh, sed) + mqtt-clients (mosquitto_sub) + this one (rootfs/).
LAYERS=(base mqtt-clients)
BINARIES=()
ENTRYPOINT='["/usr/local/bin/device-status-start"]'
CMD='[]'
USER_SPEC='nobody'
