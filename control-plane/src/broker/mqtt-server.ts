import { createServer, type AddressInfo, type Server } from 'node:net';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { MAX_PAYLOAD_BYTES } from '@flotilla/shared';
import type { Aedes } from 'aedes';
import { ConnectGuard } from '../limits/connect-guard';
import { MqttRefusals } from '../limits/mqtt-refusals';
import { PacketSizeGuard } from './packet-size-guard';
import { UplinkStats } from './uplink-stats';

export const AEDES = Symbol('Aedes');
export const BROKER_SETTINGS = Symbol('BrokerSettings');

export interface BrokerSettings {
  host: string;
  /** 0 picks a free port. */
  port: number;
  publicUrl?: string;
}

/** Largest MQTT packet accepted: the largest payload plus room for the topic and identifiers. */
export const MAX_PACKET_BYTES = MAX_PAYLOAD_BYTES + 1024;

/** The broker's TCP listener; aedes itself does no networking. */
@Injectable()
export class MqttServer {
  private readonly logger = new Logger('Broker');
  private server: Server | undefined;

  constructor(
    @Inject(AEDES) private readonly broker: Aedes,
    @Inject(BROKER_SETTINGS) private readonly settings: BrokerSettings,
    private readonly stats: UplinkStats,
    private readonly guard: ConnectGuard,
    private readonly refusals: MqttRefusals,
  ) {}

  async listen(): Promise<void> {
    const server = createServer((socket) => {
      // Before aedes sees the socket: a refused connection costs no parser, no client, no login.
      const address = socket.remoteAddress ?? 'unknown';
      if (!this.guard.opened(address)) {
        this.refusals.connection('per-address-cap', address);
        socket.destroy();
        return;
      }
      socket.once('close', () => this.guard.closed(address));
      this.broker.handle(socket);
      // After aedes' 'readable' listener, so this one sees each chunk as aedes reads it, before parsing.
      const guard = new PacketSizeGuard(MAX_PACKET_BYTES);
      socket.on('data', (chunk: Buffer) => {
        const verdict = guard.feed(chunk);
        if (verdict.ok) return;
        this.stats.oversized();
        this.logger.warn(`closed connection from ${socket.remoteAddress}: ${verdict.reason}`);
        socket.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.settings.port, this.settings.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  get listening(): boolean {
    return this.server?.listening === true && !this.broker.closed;
  }

  /** The port actually bound (differs from the setting when that was 0). */
  get port(): number {
    if (!this.server?.listening) throw new Error('the MQTT server is not listening');
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops accepting, disconnects every client (their sessions end as after a network loss), closes aedes. */
  async close(): Promise<void> {
    const server = this.server;
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    await new Promise<void>((resolve) => this.broker.close(() => resolve()));
    await closed;
    this.server = undefined;
  }
}
