import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Client } from 'pg';
import { SESSION_OPTIONS } from './session-options';

/** Called with the payload of each notification on the channel, and with `undefined` after every (re)connect: what was sent meanwhile is lost, so read again. */
export type NotificationHandler = (payload: string | undefined) => void;

/**
 * Where the database's triggers announce writes the live views care about, the table's name as
 * payload (`devices`, `rollouts`, `rollout_devices`, `releases`; migration 1765000000000).
 */
export const CHANGES_CHANNEL = 'flotilla_changes';

const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5000;

/**
 * PostgreSQL `LISTEN` on one dedicated connection (a pooled one would be handed to other
 * queries), shared by every channel of this process. It connects on the first `listen`, and
 * reconnects with backoff when the connection drops (a database restart, a network cut): the
 * handlers then hear `undefined`, since notifications sent while nobody listened are gone.
 */
export class PgNotifications implements OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  private readonly handlers = new Map<string, Set<NotificationHandler>>();
  private client: Client | undefined;
  private connecting: Promise<void> | undefined;
  private retryMs = RETRY_FIRST_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly url: string) {}

  /** Returns the function that stops listening. */
  listen(channel: string, handler: NotificationHandler): () => void {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      if (this.client) void this.listenOn(this.client, channel);
    }
    set.add(handler);
    if (!this.client) void this.connect();
    return () => {
      set.delete(handler);
    };
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    await this.connecting;
    await this.client?.end().catch(() => undefined);
  }

  private connect(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return (this.connecting ??= (async () => {
      const client = new Client({ connectionString: this.url, options: SESSION_OPTIONS, connectionTimeoutMillis: 5000, keepAlive: true });
      client.on('error', (e) => this.logger.warn(`notification connection: ${e.message}`));
      client.on('notification', (n) => this.deliver(n.channel, n.payload ?? ''));
      try {
        await client.connect();
      } catch (e) {
        await client.end().catch(() => undefined);
        this.logger.warn(`cannot listen for notifications (retrying in ${this.retryMs} ms): ${(e as Error).message}`);
        this.retryLater();
        return;
      }
      if (this.closed) return void (await client.end().catch(() => undefined));
      client.once('end', () => {
        this.client = undefined;
        if (!this.closed) this.retryLater();
      });
      this.client = client;
      // A Map's iteration also visits channels added meanwhile (listen() LISTENs those too: twice is harmless).
      for (const channel of this.handlers.keys()) await this.listenOn(client, channel);
      this.retryMs = RETRY_FIRST_MS;
      for (const channel of this.handlers.keys()) this.deliver(channel, undefined);
    })().finally(() => {
      this.connecting = undefined;
    }));
  }

  /** A failed LISTEN ends the connection, which then reconnects and listens again. */
  private listenOn(client: Client, channel: string): Promise<void> {
    return client.query(`LISTEN ${quoteChannel(channel)}`).then(
      () => undefined,
      () => void client.end().catch(() => undefined),
    );
  }

  private retryLater(): void {
    if (this.closed) return;
    this.retryTimer = setTimeout(() => void this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  private deliver(channel: string, payload: string | undefined): void {
    for (const handler of this.handlers.get(channel) ?? []) handler(payload);
  }
}

/** Channel names are identifiers; ours are constants, checked so a typo cannot become SQL. */
function quoteChannel(channel: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`notification channel "${channel}" must be a lower-case identifier`);
  return channel;
}
