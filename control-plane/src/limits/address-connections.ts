import type { Server, Socket } from 'node:net';
import { AddressCounts } from './address-counts';

/**
 * Open connections per source address on the HTTP(S) listeners, capped as the MQTT ones are
 * (`maxConnectionsPerAddress`, ConnectGuard): the connection bounds limit how long a slow client
 * holds a socket, this how many one host holds at once, so that it cannot take the process's file
 * descriptors, which the MQTT listeners need too. Devices on MQTT over WebSocket hold one each, so
 * the cap is the MQTT one (many devices share an address behind a NAT).
 */
export class AddressConnections {
  private readonly open: AddressCounts;
  /** Told of each connection closed over the cap (the limits' counters, once the application exists). */
  onRefused: () => void = () => undefined;

  constructor(maxPerAddress: number) {
    this.open = new AddressCounts(maxPerAddress);
  }

  /** Counts every connection `server` accepts from now on (for TLS, from the TCP connection, before its handshake). */
  watch(server: Server): void {
    server.on('connection', (socket: Socket) => this.admit(socket));
  }

  private admit(socket: Socket): void {
    const address = socket.remoteAddress ?? 'unknown';
    if (!this.open.take(address)) {
      this.onRefused();
      socket.destroy();
      return;
    }
    socket.once('close', () => this.open.give(address));
  }
}
