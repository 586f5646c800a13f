import type { Server, Socket } from 'node:net';

/**
 * Open connections per source address on the HTTP(S) listeners, capped as the MQTT ones are
 * (`maxConnectionsPerAddress`, ConnectGuard): the connection bounds limit how long a slow client
 * holds a socket, this how many one host holds at once, so that it cannot take the process's file
 * descriptors, which the MQTT listeners need too. Devices on MQTT over WebSocket hold one each, so
 * the cap is the MQTT one (many devices share an address behind a NAT).
 */
export class AddressConnections {
  private readonly open = new Map<string, number>();
  /** Told of each connection closed over the cap (the limits' counters, once the application exists). */
  onRefused: () => void = () => undefined;

  constructor(private readonly maxPerAddress: number) {}

  /** Counts every connection `server` accepts from now on (for TLS, from the TCP connection, before its handshake). */
  watch(server: Server): void {
    server.on('connection', (socket: Socket) => this.admit(socket));
  }

  private admit(socket: Socket): void {
    const address = socket.remoteAddress ?? 'unknown';
    const n = this.open.get(address) ?? 0;
    if (this.maxPerAddress > 0 && n >= this.maxPerAddress) {
      this.onRefused();
      socket.destroy();
      return;
    }
    this.open.set(address, n + 1);
    socket.once('close', () => {
      const left = (this.open.get(address) ?? 1) - 1;
      if (left > 0) this.open.set(address, left);
      else this.open.delete(address);
    });
  }
}
