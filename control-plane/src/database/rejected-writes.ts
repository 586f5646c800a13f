import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { toStorableText } from '@flotilla/shared';
import { DataSource } from 'typeorm';
import { ThrottledCount } from '../throttled-count';
import type { WritesRefusedReason } from './transient-errors';

/** What a device sent that a batch could not store. */
export type WrittenKind = 'telemetry' | 'event' | 'reported' | 'inventory' | 'last-seen' | 'presence';

/** The event kind the control plane writes into a device's history when one of its rows was refused. */
export const NOT_STORED_EVENT = 'message-not-stored';

/** Devices with their own counter on /metrics; the rest are summed under `(other)` so one scrape stays small. */
const MAX_DEVICES_COUNTED = 1_000;

/** One log line per kind and reason at most this often while the database refuses writes; the count is on /metrics. */
const REFUSED_LOG_EVERY_MS = 60_000;

/**
 * The rows a batch dropped because the database refused them alone (`writeAlone`): counted per
 * device and kind for `/metrics`, and told in the device's own events, so an operator sees why
 * one device's data has a hole while the rest of its batch was stored.
 */
@Injectable()
export class RejectedWrites {
  private readonly logger = new Logger('Storage');
  private readonly counts = new Map<string, Map<WrittenKind, number>>();
  private readonly refusals = new Map<`${WrittenKind} ${WritesRefusedReason}`, { count: number; untold: ThrottledCount }>();

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async record(deviceId: string, kind: WrittenKind, error: unknown): Promise<void> {
    const key = this.counts.has(deviceId) || this.counts.size < MAX_DEVICES_COUNTED ? deviceId : '(other)';
    const perKind = this.counts.get(key) ?? new Map<WrittenKind, number>();
    perKind.set(kind, (perKind.get(kind) ?? 0) + 1);
    this.counts.set(key, perKind);
    const reason = toStorableText(error instanceof Error ? error.message : String(error), 1_000);
    this.logger.warn(`device ${deviceId}: ${kind} not stored (the rest of its batch was): ${reason}`);
    await this.tell(deviceId, `a ${kind} message was not stored: ${reason}`);
  }

  /**
   * Rows dropped because the database refused every write (disk full, read-only): counted by
   * kind and reason for /metrics (`flotilla_device_rows_refused_total`) and logged once a minute
   * with the count since, not told to each device, as that insert would be refused too.
   */
  refused(kind: WrittenKind, rows: number, reason: WritesRefusedReason, error: unknown): void {
    const key = `${kind} ${reason}` as const;
    const entry = this.refusals.get(key) ?? { count: 0, untold: new ThrottledCount(REFUSED_LOG_EVERY_MS, () => performance.now()) };
    entry.count += rows;
    this.refusals.set(key, entry);
    const dropped = entry.untold.add(rows);
    if (dropped === undefined) return;
    const message = error instanceof Error ? error.message : String(error);
    this.logger.error(
      `the database refuses writes (${reason}: ${message}); ${dropped} ${kind} rows dropped since the last report. ` +
        (reason === 'disk_full'
          ? 'Free space on the database server.'
          : 'Point DATABASE_URL at the primary, or make the database writable.'),
    );
  }

  refusedSnapshot(): { kind: WrittenKind; reason: WritesRefusedReason; count: number }[] {
    return [...this.refusals].map(([key, { count }]) => {
      const [kind, reason] = key.split(' ') as [WrittenKind, WritesRefusedReason];
      return { kind, reason, count };
    });
  }

  /** A `message-not-stored` event in the device's history, saying `message`; never throws. */
  async tell(deviceId: string, message: string): Promise<void> {
    // Our own text, made storable: this insert cannot fail on its data. A device deleted meanwhile has no history to tell.
    await this.db
      .query(
        `INSERT INTO device_events (device_id, at, kind, rev, message)
         SELECT $1, now(), $2, NULL, $3 WHERE EXISTS (SELECT 1 FROM devices WHERE id = $1)`,
        [deviceId, NOT_STORED_EVENT, toStorableText(message)],
      )
      .catch((e: Error) => this.logger.error(`device ${deviceId}: could not record "${message}": ${e.message}`));
  }

  snapshot(): { deviceId: string; kind: WrittenKind; count: number }[] {
    return [...this.counts].flatMap(([deviceId, perKind]) => [...perKind].map(([kind, count]) => ({ deviceId, kind, count })));
  }
}
