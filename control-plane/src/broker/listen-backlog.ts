import type { Server } from 'node:net';

/**
 * Connections the kernel completes and queues for the MQTT listeners (plain, TLS, and the HTTPS
 * one that carries MQTT over WebSocket) while the process is busy.
 * Node's default (511) overflows in a reconnect storm (every device of a fleet back within the
 * same second or two): each connection over it has its SYN dropped and retried by the device's
 * TCP 1 s later, then 3 s, 7 s…, a tail of seconds added to the storm for nothing. The kernel
 * caps it at `net.core.somaxconn` (4096 on current Linux).
 */
export const MQTT_LISTEN_BACKLOG = 4096;

/** Listens with MQTT_LISTEN_BACKLOG; resolves once bound, rejects on a bind error (a port in use). */
export async function listenOn(server: Server, port: number, host: string): Promise<Server> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: MQTT_LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
