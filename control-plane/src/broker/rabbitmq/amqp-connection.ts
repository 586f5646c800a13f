import { Logger } from '@nestjs/common';
import { connect, type ChannelModel } from 'amqplib';

/** Backoff between attempts, doubled up to the cap, with jitter so that replicas do not reconnect in step. */
const FIRST_RETRY_MS = 200;
const MAX_RETRY_MS = 5_000;

/**
 * One AMQP connection to a RabbitMQ cluster, re-established whenever it drops (a node dies, a
 * network blip): the next attempt goes to the next node's URL, with backoff. `setup` runs on every
 * new connection (declare, bind, consume); until it has finished the connection counts as down.
 */
export class AmqpConnection {
  private readonly logger = new Logger('RabbitMQ');
  private model: ChannelModel | undefined;
  private next = 0;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  private firstUp: Promise<void>;
  private resolveFirstUp!: () => void;
  /** Connections established after the first one. */
  reconnects = 0;
  private everUp = false;

  constructor(
    private readonly urls: string[],
    private readonly setup: (model: ChannelModel) => Promise<void>,
  ) {
    if (urls.length === 0) throw new Error('FLOTILLA_RABBITMQ_URL names no node');
    this.firstUp = new Promise((resolve) => (this.resolveFirstUp = resolve));
  }

  /** Resolves once connected and set up the first time (retrying meanwhile). */
  start(): Promise<void> {
    void this.attempt(FIRST_RETRY_MS);
    return this.firstUp;
  }

  get up(): boolean {
    return this.model !== undefined;
  }

  get current(): ChannelModel | undefined {
    return this.model;
  }

  /** Ends reconnecting, runs `drain` (the connection still open, and not set up again if it drops), then closes. */
  async stop(drain: () => Promise<void> = async () => undefined): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await drain();
    const model = this.model;
    this.model = undefined;
    await model?.close().catch(() => undefined);
  }

  private async attempt(delayMs: number): Promise<void> {
    if (this.stopped) return;
    const url = this.urls[this.next++ % this.urls.length]!;
    let model: ChannelModel | undefined;
    try {
      model = await connect(withHeartbeat(url), { clientProperties: { connection_name: 'flotilla-control-plane' } });
      model.on('error', (e: Error) => this.logger.warn(`connection error: ${e.message}`));
      model.once('close', () => this.lost(model!));
      await this.setup(model);
    } catch (e) {
      await model?.close().catch(() => undefined);
      this.logger.warn(`cannot reach ${redact(url)}: ${(e as Error).message}; retrying in ${delayMs} ms`);
      this.retry = setTimeout(() => void this.attempt(Math.min(delayMs * 2, MAX_RETRY_MS)), jitter(delayMs));
      return;
    }
    if (this.stopped) return void (await model.close().catch(() => undefined));
    this.model = model;
    if (this.everUp) this.reconnects++;
    this.everUp = true;
    this.logger.log(`connected to ${redact(url)}`);
    this.resolveFirstUp();
  }

  private lost(model: ChannelModel): void {
    if (this.model !== model) return;
    this.model = undefined;
    if (this.stopped) return;
    this.logger.warn('connection lost; reconnecting');
    void this.attempt(FIRST_RETRY_MS);
  }
}

/** A dead node is noticed within two heartbeats (20 s) even when its TCP connection is not reset. */
function withHeartbeat(url: string): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', '10');
  return parsed.toString();
}

function jitter(ms: number): number {
  return ms / 2 + Math.random() * ms;
}

/** A URL as it may be logged: without its password. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'an invalid URL';
  }
}
