import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Inventory, Reported } from '@flotilla/shared';
import { Repository } from 'typeorm';
import { RejectedWrites } from '../database/rejected-writes';
import { writeAlone } from '../database/write-alone';
import { CoalescedWrites, DEVICE_WRITE_SPACING_MS } from './coalesced-writes';
import { LOCKED_IN_ID_ORDER } from './device-rows';
import { reportFingerprint } from './report-fingerprint';
import { DeviceEntity } from './device.entity';

/**
 * The stored report's `at` as an instant. One PostgreSQL cannot read (a UTC offset of 16 h or more,
 * which the protocol accepted before it refused them) counts as older than any report: the device's
 * next report replaces it, where the cast would fail every later report of the device, for good.
 * A CASE, because PostgreSQL does not promise to evaluate an OR's operands in order.
 */
const STORED_AT = `(CASE WHEN d.reported->>'at' ~ '[+-](1[6-9]|2[0-9]):?[0-9]{2}$' THEN '-infinity'::timestamptz
                         ELSE (d.reported->>'at')::timestamptz END)`;

export interface ReportRow {
  id: string;
  reported: Reported;
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
      // A device's later report in the same batch replaces its earlier one.
      await writeAlone(
        [...new Map(batch.map((r) => [r.id, r])).values()],
        async (rows) => {
          for (const id of await this.storeReportedMany(rows)) written.add(id);
        },
        { rejected: (row, error) => this.rejected.record(row.id, 'reported', error) },
      );
      return written;
    },
    { skip: { key: (r) => r.id, fingerprint: (r) => reportFingerprint(r.reported) }, spacingMs: DEVICE_WRITE_SPACING_MS },
  );
  constructor(
    @InjectRepository(DeviceEntity) private readonly devices: Repository<DeviceEntity>,
    private readonly rejected: RejectedWrites,
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
  async storeReported(id: string, reported: Reported): Promise<boolean> {
    return (await this.reports.add({ id, reported }))?.has(id) === true;
  }

  /**
   * One statement, all or nothing; at most one row per device. A report equal to the stored one
   * but for its `at` leaves the row alone (no new row version, no WAL): that is the common case
   * after a reconnect. A report older than the stored one (by the device's `at`) is dropped: with
   * several replicas, or a replica killed before acknowledging, an earlier report can be handled
   * after a later one (RabbitMQ redelivers it), and the device reports again only on change, so
   * the stale state would stay (the HA e2e saw a committed device held at "probation" and its
   * rollout stuck). A stored `at` ahead of the server's clock (a device clock since set back)
   * holds nothing back. Returns the ids whose row it wrote.
   */
  async storeReportedMany(rows: readonly ReportRow[]): Promise<string[]> {
    // The reports go as one JSON array, not as a jsonb[] parameter: node-pg escapes an array's
    // elements one by one into its literal, which cost ~10 µs a report (~85 µs in a batch of
    // 10,000) against ~2 µs for one JSON.stringify of them all.
    const [written] = (await this.devices.query(
      `WITH ${LOCKED_IN_ID_ORDER}
       UPDATE devices d SET reported = r.reported, reported_at = now(), last_seen_at = now()
         FROM (SELECT i.id, e.reported
                 FROM unnest($1::text[]) WITH ORDINALITY AS i(id, n)
                 JOIN jsonb_array_elements($2::jsonb) WITH ORDINALITY AS e(reported, n) USING (n)) AS r, locked
        WHERE d.id = r.id AND locked.id = r.id AND (d.reported - 'at') IS DISTINCT FROM (r.reported - 'at')
          AND (d.reported IS NULL OR (r.reported->>'at')::timestamptz >= ${STORED_AT} OR ${STORED_AT} > now())
       RETURNING d.id`,
      [rows.map((r) => r.id), JSON.stringify(rows.map((r) => r.reported))],
    )) as [{ id: string }[], number];
    return written.map((r) => r.id);
  }

  /** One row, retried while the error is transient; refused (and recorded), it fails no one else. */
  async storeInventory(id: string, inventory: Inventory): Promise<void> {
    await writeAlone([inventory], () => this.devices.update({ id }, { inventory, inventoryAt: () => 'now()', lastSeenAt: () => 'now()' }), {
      rejected: (_, error) => this.rejected.record(id, 'inventory', error),
    });
  }
}
