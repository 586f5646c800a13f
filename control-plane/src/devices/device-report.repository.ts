import { Injectable, Optional } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Inventory, Reported } from '@flotilla/shared';
import { Repository } from 'typeorm';
import { RejectedWrites } from '../database/rejected-writes';
import { writeAlone } from '../database/write-alone';
import { LimitStats } from '../limits/limit-stats';
import { CoalescedWrites, DEVICE_WRITE_SPACING_MS } from './coalesced-writes';
import { LOCKED_IN_ID_ORDER } from './device-rows';
import { reportFingerprint } from './report-fingerprint';
import { DeviceEntity } from './device.entity';

/**
 * The stored report's `at` as an instant. Every stored `at` is one PostgreSQL reads: the protocol
 * refuses the others (`timestampRefusal`), and migration 1765280000000 rewrote those stored before.
 */
const STORED_AT = `(d.reported->>'at')::timestamptz`;

/** Whether the report's `at` is not older than the stored one's by the device's clock (or nothing is stored, or the stored one is dated ahead of the server). */
const NEWER = `(d.reported IS NULL OR (r.reported->>'at')::timestamptz >= ${STORED_AT} OR ${STORED_AT} > now())`;
/** Whether the report says anything the stored one does not, but for its time. */
const CHANGED = `(d.reported - 'at') IS DISTINCT FROM (r.reported - 'at')`;
/** A device is told at most this often that its reports were dropped as older (its events would fill with them). */
const TELL_OLDER_EVERY_MS = 60_000;

export interface ReportRow {
  id: string;
  reported: Reported;
  /** The device's first report over a connection it opened to this replica (embedded broker); see `storeReportedMany`. */
  firstOfConnection?: boolean;
}

/** A report not stored because the stored one is later by the device's clock. */
interface OlderReport {
  id: string;
  at: string;
  storedAt: string;
}

/**
 * What devices report of themselves: their state (`reported`) and their inventory. Each batch
 * is written with `writeAlone`: a transient error is retried, a row the database refuses is
 * dropped alone and recorded.
 */
@Injectable()
export class DeviceReportRepository {
  /**
   * A report equal to the one this process last stored for the device (while it stayed
   * connected here; `forgetReported` on disconnect) is not written at all; one that reaches the
   * database unchanged is filtered there (`storeReportedMany`), so a reconnecting fleet that
   * reports what it reported before costs no row write.
   */
  private readonly reports = new CoalescedWrites<ReportRow, Set<string>>(
    async (batch) => {
      const written = new Set<string>();
      // A device's later report in the same batch replaces its earlier one (and is the first of its connection if that one was).
      const latest = new Map<string, ReportRow>();
      for (const r of batch)
        latest.set(r.id, { ...r, firstOfConnection: r.firstOfConnection === true || latest.get(r.id)?.firstOfConnection === true });
      await writeAlone(
        [...latest.values()],
        async (rows) => {
          const { written: ids, older } = await this.storeReportedMany(rows);
          for (const id of ids) written.add(id);
          this.tellOlder(older);
        },
        {
          rejected: (row, error) => {
            this.reports.notStored(row.id);
            this.rejected.record(row.id, 'reported', error);
          },
          refused: (rows, reason, error) => {
            for (const row of rows) this.reports.notStored(row.id);
            this.rejected.refused('reported', rows.length, reason, error);
          },
        },
      );
      return written;
    },
    {
      skip: {
        key: (r) => r.id,
        fingerprint: (r) => reportFingerprint(r.reported),
        // A later report takes the waiting one's place, and is the first of its connection if that one was.
        merge: (older, newer) => ({ ...newer, firstOfConnection: newer.firstOfConnection === true || older.firstOfConnection === true }),
      },
      spacingMs: DEVICE_WRITE_SPACING_MS,
    },
  );
  /** When each device was last told that a report of it was dropped as older. */
  private readonly toldOlder = new Map<string, number>();

  constructor(
    @InjectRepository(DeviceEntity) private readonly devices: Repository<DeviceEntity>,
    private readonly rejected: RejectedWrites,
    /** Absent in repository tests without the limits module; /metrics counts through it. */
    @Optional() private readonly limitStats?: LimitStats,
  ) {}

  /** Reports queued or in flight: part of the backlog behind "server busy". */
  get queuedWrites(): number {
    return this.reports.queued;
  }

  /** How long the oldest of them has waited (ms). */
  get writeLagMs(): number {
    return this.reports.lagMs;
  }

  /** Reports skipped in memory as unchanged since this process started. */
  get reportsSkipped(): number {
    return this.reports.skipped;
  }

  /** The device left this process: its next report is compared in the database, not with what this process remembers. */
  forgetReported(id: string): void {
    this.reports.forget(id);
  }

  /**
   * Coalesced like `touch`: 10,000 devices report each update phase within seconds of a rollout,
   * and one UPDATE per report filled the pool until reports were dropped on acquire timeouts
   * (control-plane/bench/rollout.bench.ts). The caller waits until its report is stored; true
   * when that write changed the row (and with it `last_seen_at`), false when it changed nothing.
   */
  async storeReported(id: string, reported: Reported, firstOfConnection = false): Promise<boolean> {
    return (await this.reports.add({ id, reported, firstOfConnection }))?.has(id) === true;
  }

  /**
   * One statement, all or nothing; at most one row per device. A report equal to the stored one
   * but for its `at` leaves the row alone (no new row version, no WAL): that is the common case
   * after a reconnect. A report older than the stored one (by the device's `at`) is dropped: with
   * several replicas, or a replica killed before acknowledging, an earlier report can be handled
   * after a later one (RabbitMQ redelivers it), and the device reports again only on change, so
   * the stale state would stay (the HA e2e saw a committed device held at "probation" and its
   * rollout stuck). A stored `at` ahead of the server's clock (a device clock since set back)
   * holds nothing back.
   *
   * Except the first report over a new connection (`firstOfConnection`, embedded broker only): it
   * is taken whatever its `at`, and rewinds the stored `at` even when nothing else changed. A device
   * that rebooted without a real-time clock dates its reports before the last one stored until its
   * clock is set, and every report of it was dropped, its state frozen until its clock passed the
   * old one. The embedded broker hands a connection's messages to the replica holding it, in order
   * and after the previous connection's, so no stale copy of an earlier connection comes after it;
   * RabbitMQ's redeliveries can, so with it no report is marked so.
   *
   * Returns the ids whose row it wrote, and the reports dropped as older (counted and told).
   */
  async storeReportedMany(rows: readonly ReportRow[]): Promise<{ written: string[]; older: OlderReport[] }> {
    // The reports go as one JSON array, not as a jsonb[] parameter: node-pg escapes an array's
    // elements one by one into its literal, which cost ~10 µs a report (~85 µs in a batch of
    // 10,000) against ~2 µs for one JSON.stringify of them all. The dropped ones are read in the
    // statement's snapshot, as the UPDATE compared them.
    const result = (await this.devices.query(
      `WITH ${LOCKED_IN_ID_ORDER},
       r AS (SELECT i.id, e.reported, f.first
               FROM unnest($1::text[]) WITH ORDINALITY AS i(id, n)
               JOIN jsonb_array_elements($2::jsonb) WITH ORDINALITY AS e(reported, n) USING (n)
               JOIN unnest($3::boolean[]) WITH ORDINALITY AS f(first, n) USING (n)),
       written AS (
         UPDATE devices d SET reported = r.reported, reported_at = now(), last_seen_at = now()
           FROM r, locked
          WHERE d.id = r.id AND locked.id = r.id AND CASE WHEN ${NEWER} THEN ${CHANGED} ELSE r.first END
         RETURNING d.id)
       SELECT id, NULL AS at, NULL AS stored_at FROM written
       UNION ALL
       SELECT r.id, r.reported->>'at', d.reported->>'at' FROM r JOIN devices d ON d.id = r.id
        WHERE NOT r.first AND ${CHANGED} AND NOT ${NEWER} AND r.id NOT IN (SELECT id FROM written)`,
      [rows.map((r) => r.id), JSON.stringify(rows.map((r) => r.reported)), rows.map((r) => r.firstOfConnection === true)],
    )) as { id: string; at: string | null; stored_at: string | null }[];
    return {
      written: result.filter((r) => r.at === null).map((r) => r.id),
      older: result.flatMap((r) => (r.at === null ? [] : [{ id: r.id, at: r.at, storedAt: r.stored_at ?? '' }])),
    };
  }

  /** Counted on /metrics; told in the device's events at most once a minute, so an operator sees why its state did not move. */
  private tellOlder(older: readonly OlderReport[]): void {
    this.limitStats?.count('clockSkew', { channel: 'reported', action: 'older-dropped' }, older.length);
    const now = Date.now();
    if (this.toldOlder.size > 10_000) for (const [id, at] of this.toldOlder) if (now - at > TELL_OLDER_EVERY_MS) this.toldOlder.delete(id);
    for (const { id, at, storedAt } of older) {
      if (now - (this.toldOlder.get(id) ?? -Infinity) < TELL_OLDER_EVERY_MS) continue;
      this.toldOlder.set(id, now);
      void this.rejected.tell(
        id,
        `a reported message was not stored: older than the last report by the device's clock (at ${at}; the stored one: ${storedAt})`,
      );
    }
  }

  /** One row, retried while the error is transient; refused (and recorded), it fails no one else. */
  async storeInventory(id: string, inventory: Inventory): Promise<void> {
    await writeAlone([inventory], () => this.devices.update({ id }, { inventory, inventoryAt: () => 'now()', lastSeenAt: () => 'now()' }), {
      rejected: (_, error) => this.rejected.record(id, 'inventory', error),
      refused: (rows, reason, error) => this.rejected.refused('inventory', rows.length, reason, error),
    });
  }
}
