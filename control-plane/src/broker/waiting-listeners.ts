import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ControlPlaneConfig } from '../config';
import { AddressCounts } from '../limits/address-counts';
import { DEFAULT_DEVICE_LIMITS } from '../limits/device-limits';
import { listenOn } from './listen-backlog';

/** Connections held at most while the broker starts; past it the oldest is closed (its device retries later). */
export const MAX_WAITING_CONNECTIONS = 20_000;
/** Held connections handed to the broker per turn of the event loop, so that the first are served while the rest are handed over. */
const HANDED_OVER_PER_TURN = 500;
/** How long `drain` may take at most, should connections come faster than one turn of the event loop each. */
const MAX_DRAIN_MS = 250;

type Handler = (socket: Socket) => void;

/**
 * An MQTT port opened first thing at start (`main.ts`, before most of the code is loaded and the
 * database read), so that devices reconnecting after a restart wait in line for the broker instead
 * of being refused and coming back at their next retry, seconds later (issue 15: a restart until
 * every device holds its desired state, counted from SIGTERM). A connection is accepted and held
 * unread (`pauseOnConnect`: not a byte parsed, no login) until the broker takes the port over
 * (`handOver`); then the held connections, oldest first, and every later one go to the broker.
 * One source address holds at most `maxPerAddress` of them, as it may hold at most that many
 * connections to the broker: one host opening connections as fast as it can would otherwise push
 * every device's out of the line, oldest first.
 */
export class WaitingListener {
  private waiting: Socket[] = [];
  private readonly perAddress: AddressCounts;
  private handler: Handler | undefined;
  private accepted = 0;

  private constructor(
    private readonly server: Server,
    private readonly maxWaiting: number,
    maxPerAddress: number,
  ) {
    this.perAddress = new AddressCounts(maxPerAddress);
    server.on('connection', (socket: Socket) => this.connected(socket));
  }

  /** `maxPerAddress`: 0 for no cap, as `maxConnectionsPerAddress`. */
  static async open(
    port: number,
    host: string,
    maxWaiting = MAX_WAITING_CONNECTIONS,
    maxPerAddress = DEFAULT_DEVICE_LIMITS.maxConnectionsPerAddress,
  ): Promise<WaitingListener> {
    return new WaitingListener(await listenOn(createServer({ pauseOnConnect: true }), port, host), maxWaiting, maxPerAddress);
  }

  /** The port bound (differs from the one asked for when that was 0). */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Connections accepted and not handed over yet. */
  get held(): number {
    return this.waiting.length;
  }

  /**
   * Accepts what waits in the kernel's accept queue: turns of the event loop until one accepted
   * nothing (or MAX_DRAIN_MS passed). Node 20 accepts one connection per turn of its event loop
   * (its libuv no longer accepts in a loop: libuv pull request 3696), so code loaded with a turn between
   * its parts (load-in-turns.ts) would take one connection per part while a fleet reconnecting at
   * thousands a second fills the queue (4,096 at most, the kernel's `somaxconn`) and the kernel
   * drops the rest. Each turn without other work costs microseconds.
   */
  async drain(maxMs = MAX_DRAIN_MS): Promise<void> {
    const until = performance.now() + maxMs;
    for (let before = -1; before !== this.accepted && !this.handler && performance.now() < until;) {
      before = this.accepted;
      await nextTurn();
    }
  }

  /**
   * From now on every connection goes to `handler`: those held first, in the order they came, a
   * few hundred per turn of the event loop; the listening server is the caller's from here on.
   */
  handOver(handler: Handler): Server {
    if (this.handler) throw new Error('the MQTT port was already handed over');
    this.handler = handler;
    const held = this.waiting;
    this.waiting = [];
    this.perAddress.clear();
    const next = (from: number): void => {
      for (const socket of held.slice(from, from + HANDED_OVER_PER_TURN)) {
        socket.off('error', ignore);
        // One its device gave up on was closed by the kernel; an unread socket sees that only when read.
        if (!socket.destroyed) handler(socket);
      }
      if (from + HANDED_OVER_PER_TURN < held.length) setImmediate(() => next(from + HANDED_OVER_PER_TURN));
    };
    next(0);
    return this.server;
  }

  /** When the start failed: the held connections and the port are closed. */
  async close(): Promise<void> {
    for (const socket of this.waiting) socket.destroy();
    this.waiting = [];
    this.perAddress.clear();
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private connected(socket: Socket): void {
    this.accepted++;
    if (this.handler) return this.handler(socket);
    if (!this.perAddress.take(socket.remoteAddress ?? 'unknown')) return void socket.destroy();
    // Nothing is read or written while it waits, but a reset must not throw.
    socket.on('error', ignore);
    this.waiting.push(socket);
    if (this.waiting.length > this.maxWaiting) this.release(this.waiting.shift()!);
  }

  private release(socket: Socket): void {
    this.perAddress.give(socket.remoteAddress ?? 'unknown');
    socket.destroy();
  }
}

function ignore(): void {}

/** The embedded broker's ports, opened before it is ready; none with an external broker (RabbitMQ). */
export interface WaitingListeners {
  plain: WaitingListener;
  /** MQTT over TLS: the TCP port only, the handshake is the broker's once it takes the port over. */
  secure?: WaitingListener;
}

/** Where the embedded broker will listen, from the configuration alone: what `openWaitingListeners` opens. */
export function brokerPorts(config: ControlPlaneConfig): { plain: Address; secure?: Address } | undefined {
  if (config.rabbitmq) return undefined;
  const plain = { port: config.mqttPort, host: config.plainHost ?? config.host };
  // Behind a TLS-terminating proxy there is no MQTT over TLS listener of this process.
  const tls = config.tls && config.tls.source.kind !== 'terminated' ? config.tls : undefined;
  return tls ? { plain, secure: { port: tls.mqttsPort, host: config.host } } : { plain };
}

interface Address {
  port: number;
  host: string;
}

export async function openWaitingListeners(config: ControlPlaneConfig): Promise<WaitingListeners | undefined> {
  const ports = brokerPorts(config);
  if (!ports) return undefined;
  const perAddress = config.limits?.maxConnectionsPerAddress ?? DEFAULT_DEVICE_LIMITS.maxConnectionsPerAddress;
  const plain = await WaitingListener.open(ports.plain.port, ports.plain.host, MAX_WAITING_CONNECTIONS, perAddress);
  try {
    return ports.secure
      ? { plain, secure: await WaitingListener.open(ports.secure.port, ports.secure.host, MAX_WAITING_CONNECTIONS, perAddress) }
      : { plain };
  } catch (e) {
    await plain.close();
    throw e;
  }
}

/** Both ports' `drain`: what waits in their accept queues is accepted and held. */
export async function drainWaitingListeners(listeners: WaitingListeners): Promise<void> {
  await Promise.all([listeners.plain.drain(), listeners.secure?.drain()]);
}

export async function closeWaitingListeners(listeners: WaitingListeners | undefined): Promise<void> {
  await Promise.all([listeners?.plain.close(), listeners?.secure?.close()]);
}
