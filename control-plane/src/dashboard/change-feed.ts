import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { LiveEvent } from '@flotilla/shared';
import { CHANGES_CHANNEL, PgNotifications } from '../database/pg-notifications';
import { ChangeFeedRepository } from './change-feed.repository';

export type Listener = (event: LiveEvent) => void;
/** Ends a subscriber's stream when the application shuts down. */
export type Closer = () => void;

/** At most one read per this long: a burst of changes (a connect storm) costs a few reads, not one each. */
export const FEED_MIN_INTERVAL_MS = 200;
/**
 * Rows are read back this far before the last read: a write's timestamp is its transaction's
 * start, so one committed just after a read can carry an earlier time. Fingerprints drop repeats.
 */
export const FEED_OVERLAP_MS = 3000;
/** Injection token of the overlap (`FEED_OVERLAP_MS` unless the start options say otherwise). */
export const FEED_OVERLAP = Symbol('FeedOverlapMs');
/** Rollout states the feed reads on every pass (`rolloutsActiveOrChangedSince`). */
const IN_MOTION = new Set(['running', 'waiting', 'paused']);

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
 * rollout progress. Woken by PostgreSQL notifications that triggers send on every write the feed
 * shows (whichever replica or process made it), it then reads what changed by the tables'
 * timestamps, so a notification lost while reconnecting costs nothing: the read after the
 * reconnect finds the change. It only listens while at least one stream is open.
 */
@Injectable()
export class ChangeFeed implements OnModuleDestroy {
  private readonly logger = new Logger('ChangeFeed');
  private readonly listeners = new Set<Listener>();
  private readonly closers = new Set<Closer>();
  private unlisten: (() => void) | undefined;
  private since: Date | undefined;
  private devices = new ChangeTracker();
  private rollouts = new ChangeTracker();
  /**
   * Rollouts last shown in motion, read again until seen stopped: the transaction that completes
   * one sets `updated_at` to its start, which can be older than the watermark by the time it
   * commits (a long decision on a loaded host), and the rollout is no longer in motion either, so
   * neither condition of the read would find it (the HA e2e's feed never showed its completion).
   */
  private unsettled = new Set<string>();
  private releases = new ChangeTracker();
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly changes: ChangeFeedRepository,
    private readonly notifications: PgNotifications,
    @Inject(FEED_OVERLAP) private readonly overlapMs: number,
  ) {}

  subscribe(listener: Listener, close: Closer): () => void {
    this.listeners.add(listener);
    this.closers.add(close);
    if (!this.unlisten) {
      this.unlisten = this.notifications.listen(CHANGES_CHANNEL, () => this.readSoon());
      this.readSoon();
    }
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
    this.unlisten?.();
    this.unlisten = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
    // A later subscriber starts from its own present, not from a stale watermark.
    this.since = undefined;
    this.devices = new ChangeTracker();
    this.rollouts = new ChangeTracker();
    this.unsettled = new Set();
    this.releases = new ChangeTracker();
  }

  /** One read after a change; changes announced during a read make one more read after it. */
  private readSoon(): void {
    if (!this.unlisten) return;
    if (this.reading || this.timer) {
      this.again = true;
      return;
    }
    this.reading = this.poll().finally(() => {
      this.reading = undefined;
      if (!this.again || !this.unlisten) return;
      this.again = false;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.readSoon();
      }, FEED_MIN_INTERVAL_MS);
    });
  }

  private async poll(): Promise<void> {
    if (!this.changes.ready) return;
    try {
      const now = await this.changes.now();
      // The first read after a (re)start reports the last moments too (and every active rollout):
      // a page that loaded just before its stream opened must not miss a change in between.
      const since = new Date((this.since ?? now).getTime() - this.overlapMs);
      this.since = now;
      for (const event of await this.read(since)) this.emit(event);
    } catch (e) {
      this.logger.warn(`change feed read failed: ${(e as Error).message}`);
    }
  }

  private async read(since: Date): Promise<LiveEvent[]> {
    const events: LiveEvent[] = [];
    for (const d of await this.changes.devicesChangedSince(since)) {
      const isNew = !this.devices.has(d.id) && d.createdAt > since;
      const print = [d.online, d.updatePhase, iso(d.reportedAt), iso(d.inventoryAt), iso(d.decommissionedAt), d.name].join('|');
      if (this.devices.changed(d.id, print)) {
        events.push({ type: 'device', id: d.id, name: d.name, online: d.online, updatePhase: d.updatePhase, created: isNew });
      }
    }
    for (const r of await this.changes.rolloutsActiveOrChangedSince(since, [...this.unsettled])) {
      if (IN_MOTION.has(r.status)) this.unsettled.add(r.id);
      else this.unsettled.delete(r.id);
      const print = [r.status, r.currentPhase, iso(r.updatedAt), r.states].join('|');
      if (this.rollouts.changed(r.id, print)) events.push({ type: 'rollout', id: r.id, status: r.status, currentPhase: r.currentPhase });
    }
    for (const id of await this.changes.releasesCreatedSince(since))
      if (this.releases.changed(id, '')) events.push({ type: 'release', id });
    return events;
  }

  private emit(event: LiveEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

function iso(value: Date | null): string {
  return value ? value.toISOString() : '';
}
