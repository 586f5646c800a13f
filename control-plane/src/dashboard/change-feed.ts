import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { LiveEvent } from '@flotilla/shared';

export type Listener = (event: LiveEvent) => void;
/** Ends a subscriber's stream when the application shuts down. */
export type Closer = () => void;

/** How often the feed reads what changed, while someone listens. */
export const FEED_INTERVAL_MS = 500;
/**
 * Rows are read back this far before the last read: a write's timestamp is its transaction's
 * start, so one committed just after a read can carry an earlier time. Fingerprints drop repeats.
 */
const OVERLAP_MS = 3000;

type Row = Record<string, unknown>;

/**
 * Remembers the last fingerprint per key and tells which rows are new or changed.
 * Pure, so that what counts as "changed" is tested without a database.
 */
export class ChangeTracker {
  private readonly seen = new Map<string, string>();

  changed(key: string, fingerprint: string): boolean {
    if (this.seen.get(key) === fingerprint) return false;
    this.seen.set(key, fingerprint);
    return true;
  }

  has(key: string): boolean {
    return this.seen.has(key);
  }
}

/**
 * Live updates for the dashboard: device connects and disconnects, reports, new releases and
 * rollout progress, found by reading the tables' timestamps rather than by hooks in the broker
 * and the rollout engine, so it sees every writer (and other control-plane processes) the same
 * way. It only runs while at least one stream is open.
 */
@Injectable()
export class ChangeFeed implements OnModuleDestroy {
  private readonly logger = new Logger('ChangeFeed');
  private readonly listeners = new Set<Listener>();
  private readonly closers = new Set<Closer>();
  private timer: NodeJS.Timeout | undefined;
  private since: Date | undefined;
  private devices = new ChangeTracker();
  private rollouts = new ChangeTracker();
  private releases = new ChangeTracker();
  private polling = false;

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  subscribe(listener: Listener, close: Closer): () => void {
    this.listeners.add(listener);
    this.closers.add(close);
    if (!this.timer) this.timer = setInterval(() => void this.poll(), FEED_INTERVAL_MS);
    return () => {
      this.listeners.delete(listener);
      this.closers.delete(close);
      if (this.listeners.size === 0) this.stop();
    };
  }

  /** Open streams would keep the HTTP server from closing: end them first. */
  onModuleDestroy(): void {
    for (const close of [...this.closers]) close();
    this.listeners.clear();
    this.closers.clear();
    this.stop();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // A later subscriber starts from its own present, not from a stale watermark.
    this.since = undefined;
    this.devices = new ChangeTracker();
    this.rollouts = new ChangeTracker();
    this.releases = new ChangeTracker();
  }

  private async poll(): Promise<void> {
    if (this.polling || !this.db.isInitialized) return;
    this.polling = true;
    try {
      const [{ now }] = (await this.db.query('SELECT now() AS now')) as [{ now: Date }];
      // The first read after a (re)start reports the last moments too (and every active rollout):
      // a page that loaded just before its stream opened must not miss a change in between.
      const since = new Date((this.since ?? now).getTime() - OVERLAP_MS);
      this.since = now;
      for (const event of await this.read(since)) this.emit(event);
    } catch (e) {
      this.logger.warn(`change feed read failed: ${(e as Error).message}`);
    } finally {
      this.polling = false;
    }
  }

  private async read(since: Date): Promise<LiveEvent[]> {
    const events: LiveEvent[] = [];
    const devices = (await this.db.query(
      `SELECT id, name, online, created_at, last_seen_at, reported_at, inventory_at, decommissioned_at,
              reported->'update'->>'phase' AS phase
         FROM devices
        WHERE created_at > $1 OR last_seen_at > $1 OR reported_at > $1 OR inventory_at > $1 OR decommissioned_at > $1`,
      [since],
    )) as Row[];
    for (const d of devices) {
      const id = d.id as string;
      const isNew = !this.devices.has(id) && (d.created_at as Date) > since;
      const print = [d.online, d.phase, iso(d.reported_at), iso(d.inventory_at), iso(d.decommissioned_at), d.name].join('|');
      if (this.devices.changed(id, print)) {
        events.push({
          type: 'device',
          id,
          name: d.name as string,
          online: d.online as boolean,
          updatePhase: (d.phase as string | null) ?? null,
          created: isNew,
        });
      }
    }
    const rollouts = (await this.db.query(
      `SELECT r.id, r.status, r.current_phase, r.updated_at,
              (SELECT string_agg(state || ':' || n, ',' ORDER BY state)
                 FROM (SELECT state, count(*) AS n FROM rollout_devices WHERE rollout_id = r.id GROUP BY state) s) AS states
         FROM rollouts r
        WHERE r.status IN ('running', 'waiting', 'paused') OR r.updated_at > $1`,
      [since],
    )) as Row[];
    for (const r of rollouts) {
      const print = [r.status, r.current_phase, iso(r.updated_at), r.states].join('|');
      if (this.rollouts.changed(r.id as string, print)) {
        events.push({ type: 'rollout', id: r.id as string, status: r.status as string, currentPhase: r.current_phase as number });
      }
    }
    const releases = (await this.db.query(`SELECT id FROM releases WHERE created_at > $1`, [since])) as Row[];
    for (const r of releases) if (this.releases.changed(r.id as string, '')) events.push({ type: 'release', id: r.id as string });
    return events;
  }

  private emit(event: LiveEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

function iso(value: unknown): string {
  return value instanceof Date ? value.toISOString() : '';
}
