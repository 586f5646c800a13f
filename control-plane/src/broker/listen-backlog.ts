/**
 * Connections the kernel completes and queues for the MQTT listeners while the process is busy.
 * Node's default (511) overflows in a reconnect storm (every device of a fleet back within the
 * same second or two): each connection over it has its SYN dropped and retried by the device's
 * TCP 1 s later, then 3 s, 7 s…, a tail of seconds added to the storm for nothing. The kernel
 * caps it at `net.core.somaxconn` (4096 on current Linux).
 */
export const MQTT_LISTEN_BACKLOG = 4096;
