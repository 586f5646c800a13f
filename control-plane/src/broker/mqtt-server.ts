import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { MAX_PAYLOAD_BYTES } from '@flotilla/shared';
import type { Aedes } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { requestPath } from '../http/url-guard';
import { ConnectGuard } from '../limits/connect-guard';
import { CONNECTION_BOUNDS, type ConnectionBounds } from '../limits/connection-bounds';
import { MqttRefusals } from '../limits/mqtt-refusals';
import { SendStallWatch } from '../limits/send-stall-watch';
import { TLS_OPTIONS } from '../tls/tls-options';
import { listenOn } from './listen-backlog';
import { ControlPacketBudget } from './control-packet-budget';
import { PacketSizeGuard } from './packet-size-guard';
import type { RabbitMqSettings } from './rabbitmq/rabbitmq-settings';
import { peerCertificateOf, type Peer } from './peer-identity';
import { UplinkStats } from './uplink-stats';
import { drainWaitingListeners, type WaitingListeners } from './waiting-listeners';

export const AEDES = Symbol('Aedes');
export const BROKER_SETTINGS = Symbol('BrokerSettings');

export interface BrokerSettings {
  /** Interface of the plain MQTT listener (127.0.0.1 unless opened on purpose). */
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** How long a TLS handshake, a CONNECT and its login may take, and a send stall; default CONNECTION_BOUNDS (tests shorten them). */
  bounds?: Pick<ConnectionBounds, 'tlsHandshakeMs' | 'mqttConnectMs' | 'mqttLoginMs' | 'sendStallMs' | 'sendCheckMs'>;
  publicUrl?: string;
  /** MQTT over TLS, with client certificates checked against the device CA. */
  tls?: { host: string; port: number; keyPem: string; certPem: string; deviceCaPem: string };
  /** Set: devices use this external RabbitMQ cluster, and the settings above are unused. */
  rabbitmq?: RabbitMqSettings;
  /** The ports above, opened at the start of the process (main.ts) and holding connections until `listen` takes them over. */
  waiting?: WaitingListeners;
}

/** Largest MQTT packet accepted: the largest payload plus room for the topic and identifiers. */
export const MAX_PACKET_BYTES = MAX_PAYLOAD_BYTES + 1024;

/** Largest first packet (CONNECT, before the login): the agent's is under 400 bytes (packet-size-guard.ts). */
export const MAX_CONNECT_PACKET_BYTES = 4096;

/** Path of MQTT over (secure) WebSocket on the HTTPS server. */
export const MQTT_WEBSOCKET_PATH = '/mqtt';

/**
 * The broker's listeners (aedes itself does no networking): plain TCP, TLS, and WebSocket on
 * the HTTPS server. Each connection's peer (listener and client certificate) is kept for the
 * authentication hook, keyed by the stream aedes sees as `client.conn`.
 */
@Injectable()
export class MqttServer {
  private readonly logger = new Logger('Broker');
  private readonly peers = new WeakMap<object, Peer>();
  private plain: Server | undefined;
  private secure: Server | undefined;
  private webSockets: WebSocketServer | undefined;
  /** Devices that stopped reading; those on MQTT over WebSocket are the HTTPS listener's (bootstrap.ts). */
  private readonly stalls: SendStallWatch;

  constructor(
    @Inject(AEDES) private readonly broker: Aedes,
    @Inject(BROKER_SETTINGS) private readonly settings: BrokerSettings,
    private readonly stats: UplinkStats,
    private readonly guard: ConnectGuard,
    private readonly refusals: MqttRefusals,
  ) {
    this.stalls = new SendStallWatch(settings.bounds ?? CONNECTION_BOUNDS);
    this.stalls.onCut = (socket) => this.refusals.stalled(socket.remoteAddress ?? 'unknown');
  }

  /** Opens the listeners, or takes over those opened at start (with the connections they hold). */
  async listen(): Promise<void> {
    const waiting = this.settings.waiting;
    const plain = (socket: Socket): void => {
      if (!this.admit(socket, socket.remoteAddress)) return;
      probeWhenIdle(socket);
      this.stalls.watch(socket);
      this.accept(socket, socket, { transport: 'plain', certificate: undefined });
    };
    // What queued since the last drain joins the held connections, in their order: once the broker
    // has them, its turns grow long, and Node accepts one connection a turn (waiting-listeners.ts).
    if (waiting) await drainWaitingListeners(waiting);
    this.plain = waiting ? waiting.plain.handOver(plain) : await listenOn(createServer(plain), this.settings.port, this.settings.host);
    const tls = this.settings.tls;
    if (tls) {
      const server = createTlsServer(
        // Asked, not required: password devices (fleets provisioned before certificates) connect over TLS too.
        {
          ...TLS_OPTIONS,
          handshakeTimeout: (this.settings.bounds ?? CONNECTION_BOUNDS).tlsHandshakeMs,
          key: tls.keyPem,
          cert: tls.certPem,
          ca: tls.deviceCaPem,
          requestCert: true,
          rejectUnauthorized: false,
        },
        (socket: TLSSocket) => this.accept(socket, socket, { transport: 'tls', certificate: peerCertificateOf(socket) }),
      );
      // Counted from the TCP connection, not the end of the handshake: the handshakes in progress
      // are connections too, and one address must not hold more of them than of logged-in ones.
      // The TCP socket below TLS carries what waits to be sent (send-stall-watch.ts).
      server.on('connection', (socket: Socket) => {
        if (!this.admit(socket, socket.remoteAddress)) return;
        probeWhenIdle(socket);
        this.stalls.watch(socket);
      });
      // Node closes a failed handshake's socket only when nothing listens to this event: a
      // listener must close it, or a client that never finishes its handshake keeps it for good.
      server.on('tlsClientError', (e: Error, socket: TLSSocket) => {
        this.logger.debug?.(`TLS handshake from ${socket.remoteAddress} failed: ${e.message}`);
        socket.destroy();
      });
      if (!waiting) this.secure = await listenOn(server, tls.port, tls.host);
      else if (waiting.secure) this.secure = waiting.secure.handOver((socket) => server.emit('connection', socket));
      else throw new Error('MQTT over TLS is configured but its port was not opened at start');
    } else await waiting?.secure?.close();
  }

  /** MQTT over WebSocket at `/mqtt` on `server` (the HTTPS server, whose handshake asked for a client certificate). */
  attachWebSocket(server: HttpServer): void {
    const wss = (this.webSockets ??= new WebSocketServer({ noServer: true, maxPayload: MAX_PACKET_BYTES }));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (requestPath(req.url) !== MQTT_WEBSOCKET_PATH) return void socket.destroy();
      wss.handleUpgrade(req, socket, head, (ws) => {
        // The stream stands for the socket in aedes (client.conn): it carries the address limits and logs use.
        const stream = Object.assign(createWebSocketStream(ws), { remoteAddress: req.socket.remoteAddress });
        if (!this.admit(stream, req.socket.remoteAddress)) return;
        const tlsSocket = req.socket as TLSSocket;
        probeWhenIdle(tlsSocket);
        const certificate = typeof tlsSocket.getPeerCertificate === 'function' ? peerCertificateOf(tlsSocket) : undefined;
        this.accept(stream, req.socket, { transport: 'wss', certificate });
      });
    });
  }

  /** How the client behind aedes' `client.conn` reached the broker; undefined for connections made inside the process. */
  peerOf(conn: object): Peer | undefined {
    return this.peers.get(conn);
  }

  /** Counts a connection against its address's cap until it closes; false (and closed) over the cap. */
  private admit(stream: Duplex, remoteAddress: string | undefined): boolean {
    // Before aedes sees the connection: a refused one costs no parser, no client, no login.
    const address = remoteAddress ?? 'unknown';
    if (!this.guard.opened(address)) {
      this.refusals.connection('per-address-cap', address);
      stream.destroy();
      return false;
    }
    stream.once('close', () => this.guard.closed(address));
    return true;
  }

  private accept(stream: Duplex, socket: Socket | Duplex, peer: Peer): void {
    this.peers.set(stream, peer);
    this.broker.handle(stream);
    // After aedes' 'readable' listener, so this one sees each chunk as aedes reads it, before parsing.
    const budget = new ControlPacketBudget(performance.now());
    const guard = new PacketSizeGuard(MAX_PACKET_BYTES, MAX_CONNECT_PACKET_BYTES, {
      started: (type) => budget.started(type, performance.now()),
      sized: (type, length) => budget.sized(type, length),
    });
    stream.on('data', (chunk: Buffer) => {
      const verdict = guard.feed(chunk);
      if (verdict.ok) return;
      if (verdict.kind === 'oversized') this.stats.oversized();
      else this.refusals.controlPackets((socket as Socket).remoteAddress ?? 'unknown');
      this.logger.warn(`closed connection from ${(socket as Socket).remoteAddress}: ${verdict.reason}`);
      stream.destroy();
    });
  }

  /** How long a login may wait for its credential check (connection-bounds.ts). */
  get loginWaitMs(): number {
    return (this.settings.bounds ?? CONNECTION_BOUNDS).mqttLoginMs;
  }

  get listening(): boolean {
    return this.plain?.listening === true && !this.broker.closed;
  }

  /** The plain port actually bound (differs from the setting when that was 0). */
  get port(): number {
    return boundPort(this.plain, 'the MQTT server');
  }

  /** The MQTT over TLS port, when TLS is on. */
  get securePort(): number | undefined {
    return this.secure ? boundPort(this.secure, 'the MQTT over TLS server') : undefined;
  }

  /** Stops accepting, disconnects every client (their sessions end as after a network loss), closes aedes. */
  async close(): Promise<void> {
    this.stalls.stop();
    const servers = [this.plain, this.secure].filter((s): s is Server => s !== undefined);
    const closed = Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.webSockets?.close();
    await new Promise<void>((resolve) => this.broker.close(() => resolve()));
    await closed;
    this.plain = this.secure = this.webSockets = undefined;
  }
}

function boundPort(server: Server | undefined, what: string): number {
  if (!server?.listening) throw new Error(`${what} is not listening`);
  return (server.address() as AddressInfo).port;
}

/** Idle time before the kernel's first keepalive probe on a device's connection. */
export const IDLE_PROBE_MS = 60_000;

/**
 * TCP keepalive on every device connection. MQTT 3.1.1 lets a client ask for no keepalive at all
 * (0), and then a device that lost power or its network left a connection the broker never
 * questioned: shown online, its per-address slot held, until something was sent to it. With the
 * kernel's probes (after `IDLE_PROBE_MS` idle; Linux then probes every 75 s, 9 times) such a
 * connection is closed within about 12 minutes, whatever the client asked for.
 */
function probeWhenIdle(socket: Socket): void {
  socket.setKeepAlive(true, IDLE_PROBE_MS);
}
