import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { RejectedWrites } from '../database/rejected-writes';
import { writeAlone } from '../database/write-alone';
import { CoalescedWrites, DEVICE_WRITE_SPACING_MS } from './coalesced-writes';
import { LOCKED_IN_ID_ORDER, lockedInIdOrder, type Row } from './device-rows';
import { DeviceEntity } from './device.entity';
import { LastSeenMemory } from './last-seen-memory';

export interface PresenceRow {
  id: string;
  online: boolean;
  /** The replica whose embedded broker holds the connection; null when an external broker owns presence. */
  via: string | null;
}

/**
 * Presence of devices (online, through which replica) and when they were last seen, from the
 * broker's events, its connection list and every message a device sends. Each batch is written
 * with `writeAlone`: a transient error is retried, a row the database refuses is dropped alone
 * and recorded.
 */
@Injectable()
export class DevicePresenceRepository {
  /**
   * A device's `last_seen_at` is written at most once per `LAST_SEEN_RESOLUTION_MS` by this
   * process, whatever wrote it (a report, presence, a touch): in a rollout each device sends its
   * commit event within a second or two of a report that had set it, and that event's touch was
   * one more row update per device (control-plane/bench/rollout.bench.ts).
   */
  private readonly lastSeen = new LastSeenMemory();
  /** Touches not written because the device's last-seen was written within the resolution (for tests). */
  touchesSkipped = 0;
  private readonly touches = new CoalescedWrites<string>(
    async (ids) => {
      const at = performance.now();
      const unique = [...new Set(ids)];
      await writeAlone(unique, (batch) => this.touchMany(batch), {
        rejected: (id, error) => this.rejected.record(id, 'last-seen', error),
        refused: (rows, reason, error) => this.rejected.refused('last-seen', rows.length, reason, error),
      });
      this.lastSeen.wrote(unique, at);
    },
    { spacingMs: DEVICE_WRITE_SPACING_MS },
  );
  /**
   * Presence from the broker's connect and disconnect events: a connect storm of 10,000 costs a
   * few UPDATEs, not 10,000 (issue 15). A device's later value in a batch wins. Resolves with the
   * ids that were updated: a device missing there is unknown or decommissioned.
   */
  private readonly presence = new CoalescedWrites<PresenceRow, Set<string>>(
    async (batch) => {
      const at = performance.now();
      const updated = new Set<string>();
      await writeAlone(
        [...new Map(batch.map((r) => [r.id, r])).values()],
        async (rows) => {
          for (const id of await this.setOnlineMany(rows)) updated.add(id);
        },
        {
          rejected: (row, error) => this.rejected.record(row.id, 'presence', error),
          refused: (rows, reason, error) => this.rejected.refused('presence', rows.length, reason, error),
        },
      );
      this.lastSeen.wrote(updated, at);
      return updated;
    },
    { spacingMs: DEVICE_WRITE_SPACING_MS },
  );

  constructor(
    @InjectRepository(DeviceEntity) private readonly devices: Repository<DeviceEntity>,
    private readonly rejected: RejectedWrites,
  ) {}

  /** Coalesced (`presence`); false when the device is unknown or decommissioned (which is never online). */
  async setOnline(id: string, online: boolean, via: string | null = null): Promise<boolean> {
    return (await this.presence.add({ id, online, via }))?.has(id) === true;
  }

  /**
   * One statement, all or nothing, at most one row per device; returns the ids updated. An offline
   * from one replica leaves alone a device that meanwhile came online through another (`online_via`).
   */
  async setOnlineMany(rows: readonly PresenceRow[]): Promise<string[]> {
    const [updated] = (await this.devices.query(
      `WITH ${LOCKED_IN_ID_ORDER}
       UPDATE devices d SET online = r.online, online_via = CASE WHEN r.online THEN r.via END, last_seen_at = now()
         FROM unnest($1::text[], $2::boolean[], $3::text[]) AS r(id, online, via), locked
        WHERE d.id = r.id AND locked.id = r.id AND d.decommissioned_at IS NULL
          AND (r.online OR d.online_via IS NOT DISTINCT FROM r.via OR NOT d.online)
       RETURNING d.id`,
      [rows.map((r) => r.id), rows.map((r) => r.online), rows.map((r) => r.via)],
    )) as [Row[], number];
    return updated.map((r) => r.id as string);
  }

  /** Presence and last-seen writes queued or in flight: part of the backlog behind "server busy". */
  get queuedWrites(): number {
    return this.presence.queued + this.touches.queued;
  }

  /** How long the oldest of them has waited (ms). */
  get writeLagMs(): number {
    return Math.max(this.presence.lagMs, this.touches.lagMs);
  }

  /**
   * Offline: the devices held by a replica with no heartbeat within `aliveS` seconds (dead, or
   * stopped), and with `unowned` those online with no holder recorded (rows from before holders
   * were); returns how many.
   */
  async markOfflineHeldByDead(aliveS: number, unowned: boolean): Promise<number> {
    const [, count] = (await this.devices.query(
      `UPDATE devices d SET online = false, online_via = NULL
        WHERE d.online AND (CASE WHEN d.online_via IS NULL THEN $2::boolean ELSE NOT EXISTS (
          SELECT 1 FROM replica_heartbeats h WHERE h.replica = d.online_via AND h.seen_at > now() - make_interval(secs => $1)) END)`,
      [aliveS, unowned],
    )) as [unknown, number];
    return count;
  }

  /**
   * Presence set to the broker's list of connected devices (`connected`), for the devices not
   * heard from for `quietS` seconds: one heard from since told its presence itself, and the list
   * may lag a connect or a disconnect by that long. Rows locked in id order, as every batch here.
   */
  async reconcilePresence(connected: readonly string[], quietS: number): Promise<{ offline: number; online: number }> {
    const quiet = `d.last_seen_at < now() - make_interval(secs => $2)`;
    const listed = `SELECT unnest($1::text[])`;
    const [, offline] = (await this.devices.query(
      `WITH ${lockedInIdOrder(`online AND last_seen_at < now() - make_interval(secs => $2) AND id NOT IN (${listed})`)}
       UPDATE devices d SET online = false, online_via = NULL FROM locked WHERE d.id = locked.id AND d.online AND ${quiet}`,
      [connected, quietS],
    )) as [unknown, number];
    const [, online] = (await this.devices.query(
      `WITH ${lockedInIdOrder(`NOT online AND decommissioned_at IS NULL AND last_seen_at < now() - make_interval(secs => $2) AND id IN (${listed})`)}
       UPDATE devices d SET online = true FROM locked WHERE d.id = locked.id AND NOT d.online AND d.decommissioned_at IS NULL AND ${quiet}`,
      [connected, quietS],
    )) as [unknown, number];
    return { offline, online };
  }

  /**
   * Coalesced (`CoalescedWrites`): a fleet sending 1,000 telemetry messages a second costs a few
   * UPDATEs a second, not 1,000 (measured with control-plane/bench/telemetry.bench.ts). Each
   * caller still waits for its own write. Nothing is written when this process wrote the device's
   * last-seen within the resolution (`lastSeen`).
   */
  touch(id: string): Promise<void> {
    if (this.lastSeen.recent(id)) {
      this.touchesSkipped++;
      return Promise.resolve();
    }
    return this.touches.add(id);
  }

  /** Another writer set the device's `last_seen_at`, in a statement that started no earlier than `at` (`performance.now()`). */
  lastSeenWritten(id: string, at: number): void {
    this.lastSeen.wrote([id], at);
  }

  /** One statement, all or nothing: `last_seen_at = now()` for every id. */
  async touchMany(ids: readonly string[]): Promise<void> {
    await this.devices.query(`WITH ${LOCKED_IN_ID_ORDER} UPDATE devices d SET last_seen_at = now() FROM locked WHERE d.id = locked.id`, [
      ids,
    ]);
  }
}
