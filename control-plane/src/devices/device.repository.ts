import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { ConfigMap, DeviceListQuery, Inventory, Reported, WindowSchedule } from '@flotilla/shared';
import { Repository } from 'typeorm';
import { managerOf, type UnitOfWork } from '../database/unit-of-work';
import { RejectedWrites } from '../database/rejected-writes';
import { writeAlone } from '../database/write-alone';
import { CoalescedWrites } from './coalesced-writes';
import { reportFingerprint } from './report-fingerprint';
import { CURSOR_AT_SQL, DEVICE_LIST_ORDER, deviceListWhere, type DeviceListPosition } from './device-list-query';
import { DeviceEntity } from './device.entity';

export interface ReportRow {
  id: string;
  reported: Reported;
}

export interface PresenceRow {
  id: string;
  online: boolean;
  /** The replica whose embedded broker holds the connection; null when an external broker owns presence. */
  via: string | null;
}

export interface NewDevice {
  id: string;
  name: string;
  board: string | null;
  passwordHash: string;
  /** The device gets the fleet's target release at once (rev 1), on its first `desired/get`. */
  fleetId: string | null;
  /** Registered with a provisioning token an admin made: only such devices may receive a stored registry login. */
  registeredByAdmin: boolean;
}

export interface DesiredPointer {
  desiredRev: number;
  desiredReleaseId: string | null;
  /** Fleet configuration ⊕ device overrides, not yet merged. */
  fleetConfig: ConfigMap | null;
  deviceConfig: ConfigMap;
  /** When the desired release was created; null without one. */
  releaseCreatedAt: Date | null;
  /** The desired release is older than one assigned to the device before: a signed rollback. */
  rollback: boolean;
  /** Who may receive which registry secret depends on these (`RegistriesService.lookup`). */
  fleetId: string | null;
  registeredByAdmin: boolean;
  /** `desired.updatePolicy`: the operator's override of the device's update locks, and the fleet's longest deferral. */
  force: boolean;
  lockMaxDeferSeconds: number | null;
  /** The device's own maintenance windows, else its fleet's; null: none. */
  windows: WindowSchedule | null;
}

export interface DesiredState extends DesiredPointer {
  deviceId: string;
}

export interface LastEvent {
  at: Date;
  kind: string;
  rev: number | null;
  message: string;
}

/** A device row with what its view needs from around it. */
export interface DeviceRecord {
  device: DeviceEntity;
  fleetConfig: ConfigMap | null;
  lastEvent: LastEvent | null;
}

/** A record with where it stands in the device list's order (`DeviceListPosition`). */
export interface ListedDeviceRecord extends DeviceRecord {
  position: DeviceListPosition;
}

/** `from` is `devices` or a subquery of its rows, aliased `d`. */
const recordSelect = (from = 'devices') => `
  SELECT d.*, f.config AS fleet_config,
         e.at AS event_at, e.kind AS event_kind, e.rev AS event_rev, e.message AS event_message
    FROM ${from} d
    LEFT JOIN fleets f ON f.id = d.fleet_id
    LEFT JOIN LATERAL (
      SELECT at, kind, rev, message FROM device_events WHERE device_id = d.id ORDER BY at DESC, id DESC LIMIT 1
    ) e ON true`;

const DESIRED_SELECT = `
  SELECT d.id, d.desired_rev, d.desired_release_id, d.config, d.fleet_id, d.registered_by_admin, f.config AS fleet_config,
         r.created_at AS release_created_at, COALESCE(r.created_at < d.newest_release_at, false) AS rollback,
         d.desired_force, f.lock_max_defer_seconds, coalesce(d.update_windows, f.update_windows) AS update_windows
    FROM devices d LEFT JOIN fleets f ON f.id = d.fleet_id LEFT JOIN releases r ON r.id = d.desired_release_id`;

type Row = Record<string, unknown>;

/**
 * The rows of ids $1, locked in id order (a CTE for batched UPDATEs; see DeviceRepository).
 * `FOR NO KEY UPDATE`, the lock the UPDATE itself takes, and not `FOR UPDATE`: the latter also
 * blocks the foreign-key share locks that telemetry and event inserts take on `devices`, and
 * those batches deadlocked with last-seen batches under load (issue 13). "C" order is the order
 * of JavaScript's string comparison, which the inserts sort by.
 */
const lockedInIdOrder = (where = 'id = ANY($1::text[])') =>
  `locked AS (SELECT id FROM devices WHERE ${where} ORDER BY id COLLATE "C" FOR NO KEY UPDATE)`;
const LOCKED_IN_ID_ORDER = lockedInIdOrder();

/**
 * The only code that reads or writes `devices`. Every change of what a device should run
 * (release or configuration) bumps `desired_rev` in the same statement, so concurrent changes
 * each get their own rev; callers then publish the device's current desired state.
 * Decommissioned devices are never assigned anything.
 */
@Injectable()
export class DeviceRepository {
  // Every batched UPDATE of devices locks its rows in id order first (LOCKED_IN_ID_ORDER):
  // batches running side by side (last-seen, reports, a rollout's assignment, a fleet's change)
  // then wait for each other instead of deadlocking. Each batch is written with `writeAlone`:
  // a transient error is retried, a row the database refuses is dropped alone and recorded.
  private readonly touches = new CoalescedWrites<string>((ids) =>
    writeAlone([...new Set(ids)], (batch) => this.touchMany(batch), {
      rejected: (id, error) => this.rejected.record(id, 'last-seen', error),
    }),
  );
  /**
   * A report equal to the one this process last stored for the device (while it stayed
   * connected here; `forgetReported` on disconnect) is not written at all; one that reaches the
   * database unchanged is filtered there (`storeReportedMany`), so a reconnecting fleet that
   * reports what it reported before costs no row write.
   */
  private readonly reports = new CoalescedWrites<ReportRow>(
    (batch) =>
      // A device's later report in the same batch replaces its earlier one.
      writeAlone([...new Map(batch.map((r) => [r.id, r])).values()], (rows) => this.storeReportedMany(rows), {
        rejected: (row, error) => this.rejected.record(row.id, 'reported', error),
      }),
    { key: (r) => r.id, fingerprint: (r) => reportFingerprint(r.reported) },
  );
  /**
   * Presence from the broker's connect and disconnect events: a connect storm of 10,000 costs a
   * few UPDATEs, not 10,000 (issue 15). A device's later value in a batch wins. Resolves with the
   * ids that were updated: a device missing there is unknown or decommissioned.
   */
  private readonly presence = new CoalescedWrites<PresenceRow, Set<string>>(async (batch) => {
    const updated = new Set<string>();
    await writeAlone(
      [...new Map(batch.map((r) => [r.id, r])).values()],
      async (rows) => {
        for (const id of await this.setOnlineMany(rows)) updated.add(id);
      },
      { rejected: (row, error) => this.rejected.record(row.id, 'presence', error) },
    );
    return updated;
  });

  constructor(
    @InjectRepository(DeviceEntity) private readonly devices: Repository<DeviceEntity>,
    private readonly rejected: RejectedWrites,
  ) {}

  /**
   * A device in a fleet starts with the fleet's target release at rev 1, read in the same
   * statement, so a target set concurrently is either seen here or assigns this device itself.
   * False when the id is already there: ids are random, so only a retried transaction whose
   * commit had landed after all (its reply lost) meets its own row.
   */
  async insert(uow: UnitOfWork, device: NewDevice): Promise<boolean> {
    const rows = (await managerOf(uow).query(
      `WITH target AS (SELECT (SELECT target_release_id FROM fleets WHERE id = $5::uuid) AS release_id)
       INSERT INTO devices (id, name, board, password_hash, fleet_id, desired_release_id, desired_rev, online, tags, config, registered_by_admin)
       SELECT $1, $2, $3, $4, $5::uuid, target.release_id, CASE WHEN target.release_id IS NULL THEN 0 ELSE 1 END, false, '{}', '{}', $6
         FROM target
       ON CONFLICT (id) DO NOTHING
       RETURNING id`,
      [device.id, device.name, device.board, device.passwordHash, device.fleetId, device.registeredByAdmin],
    )) as Row[];
    return rows.length === 1;
  }

  findById(id: string): Promise<DeviceEntity | null> {
    return this.devices.findOneBy({ id });
  }

  async findRecord(id: string): Promise<DeviceRecord | undefined> {
    const rows = (await this.devices.query(`${recordSelect()} WHERE d.id = $1`, [id])) as Row[];
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  /**
   * Up to `limit` devices after `after`, oldest first. The page is chosen first and only its
   * rows get their fleet and last event, so a page costs the same at 10,000 devices as at 10.
   */
  async listPage(filter: DeviceListQuery, limit: number, after?: DeviceListPosition): Promise<ListedDeviceRecord[]> {
    const { where, params } = deviceListWhere(filter, after);
    const page = `(SELECT d.*, ${CURSOR_AT_SQL} AS cursor_at FROM devices d ${where} ORDER BY ${DEVICE_LIST_ORDER} LIMIT $${params.length + 1})`;
    const rows = (await this.devices.query(`${recordSelect(page)} ORDER BY ${DEVICE_LIST_ORDER}`, [...params, limit])) as Row[];
    return rows.map((r) => ({ ...toRecord(r), position: { createdAt: r.cursor_at as string, id: r.id as string } }));
  }

  async findDesiredPointer(id: string): Promise<DesiredPointer | undefined> {
    return (await this.findDesiredStates([id]))[0];
  }

  async findDesiredStates(ids: readonly string[]): Promise<DesiredState[]> {
    if (ids.length === 0) return [];
    const rows = (await this.devices.query(`${DESIRED_SELECT} WHERE d.id = ANY($1::text[]) AND d.decommissioned_at IS NULL`, [
      ids,
    ])) as Row[];
    return rows.map((r) => ({
      deviceId: r.id as string,
      desiredRev: r.desired_rev as number,
      desiredReleaseId: (r.desired_release_id as string | null) ?? null,
      deviceConfig: (r.config as ConfigMap | null) ?? {},
      fleetConfig: (r.fleet_config as ConfigMap | null) ?? null,
      releaseCreatedAt: (r.release_created_at as Date | null) ?? null,
      rollback: r.rollback as boolean,
      fleetId: (r.fleet_id as string | null) ?? null,
      registeredByAdmin: r.registered_by_admin === true,
      force: r.desired_force === true,
      lockMaxDeferSeconds: (r.lock_max_defer_seconds as number | null) ?? null,
      windows: (r.update_windows as WindowSchedule | null) ?? null,
    }));
  }

  /** Points the device at a release and bumps its rev in one statement. */
  async assignRelease(id: string, releaseId: string): Promise<DeviceEntity | undefined> {
    return this.updateOne(`desired_release_id = $2, desired_rev = desired_rev + 1, desired_force = false`, id, [releaseId]);
  }

  /** The device's own maintenance windows (null: its fleet's apply); part of its desired state. */
  async setWindows(id: string, windows: WindowSchedule | null): Promise<DeviceEntity | undefined> {
    return this.updateOne(`update_windows = $2::jsonb, desired_rev = desired_rev + 1`, id, [windows && JSON.stringify(windows)]);
  }

  /** The operator overrides the device's update locks: its current desired state again, forced, under a new rev. */
  async forceUpdate(id: string): Promise<DeviceEntity | undefined> {
    return this.updateOne(`desired_force = true, desired_rev = desired_rev + 1`, id, []);
  }

  /**
   * Points many devices at one release, each with its own rev bump, in one statement inside the
   * caller's transaction `uow`. Returns the new rev of every device assigned; unknown and
   * decommissioned devices are absent, as `assignRelease` refuses them.
   */
  async assignReleaseToMany(uow: UnitOfWork, ids: readonly string[], releaseId: string, force = false): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const [rows] = (await managerOf(uow).query(
      `WITH ${LOCKED_IN_ID_ORDER}
       UPDATE devices d SET desired_release_id = $2, desired_rev = d.desired_rev + 1, desired_force = $3
         FROM locked WHERE d.id = locked.id AND d.decommissioned_at IS NULL
       RETURNING d.id, d.desired_rev`,
      [ids, releaseId, force],
    )) as [Row[], number];
    return new Map(rows.map((r) => [r.id as string, r.desired_rev as number]));
  }

  async pinRelease(id: string, releaseId: string): Promise<DeviceEntity | undefined> {
    return this.updateOne(`pinned_release_id = $2, desired_release_id = $2, desired_rev = desired_rev + 1, desired_force = false`, id, [
      releaseId,
    ]);
  }

  /** Unpinned, the device follows its fleet's target again (if the fleet has one); the rev moves only when the release does. */
  async unpin(id: string): Promise<DeviceEntity | undefined> {
    const target = `(SELECT target_release_id FROM fleets WHERE id = devices.fleet_id)`;
    return this.updateOne(
      `pinned_release_id = NULL,
       desired_release_id = COALESCE(${target}, desired_release_id),
       desired_rev = desired_rev + CASE WHEN ${target} IS DISTINCT FROM desired_release_id AND ${target} IS NOT NULL THEN 1 ELSE 0 END`,
      id,
      [],
    );
  }

  async setConfig(id: string, config: ConfigMap): Promise<DeviceEntity | undefined> {
    return this.updateOne(`config = $2::jsonb, desired_rev = desired_rev + 1`, id, [JSON.stringify(config)]);
  }

  async setTags(id: string, tags: readonly string[]): Promise<DeviceEntity | undefined> {
    return this.updateOne(`tags = $2::text[]`, id, [tags]);
  }

  /**
   * Moves the device (null: out of any fleet). Its configuration changes with the fleet's, so
   * the rev always moves; an unpinned device takes the new fleet's target when it has one.
   */
  async moveToFleet(id: string, fleetId: string | null): Promise<DeviceEntity | undefined> {
    return this.updateOne(
      `fleet_id = $2::uuid,
       desired_release_id = CASE WHEN pinned_release_id IS NULL
         THEN COALESCE((SELECT target_release_id FROM fleets WHERE id = $2::uuid), desired_release_id)
         ELSE desired_release_id END,
       desired_rev = desired_rev + 1`,
      id,
      [fleetId],
    );
  }

  /** Assigns the fleet's target to its unpinned devices that do not have it yet; returns their ids. */
  async assignFleetTarget(uow: UnitOfWork, fleetId: string, releaseId: string): Promise<string[]> {
    const [rows] = (await managerOf(uow).query(
      `WITH ${lockedInIdOrder('fleet_id = $1 AND pinned_release_id IS NULL AND decommissioned_at IS NULL AND desired_release_id IS DISTINCT FROM $2')}
       UPDATE devices d SET desired_release_id = $2, desired_rev = d.desired_rev + 1
         FROM locked WHERE d.id = locked.id
       RETURNING d.id`,
      [fleetId, releaseId],
    )) as [Row[], number];
    return rows.map((r) => r.id as string);
  }

  /** The fleet's configuration changed: every device of it has a new desired state. */
  async bumpFleetDevices(fleetId: string): Promise<string[]> {
    const [rows] = (await this.devices.query(
      `WITH ${lockedInIdOrder('fleet_id = $1 AND decommissioned_at IS NULL')}
       UPDATE devices d SET desired_rev = d.desired_rev + 1 FROM locked WHERE d.id = locked.id RETURNING d.id`,
      [fleetId],
    )) as [Row[], number];
    return rows.map((r) => r.id as string);
  }

  /** Revokes the credential (no hash verifies against it) and marks the device; undefined if unknown or already done. */
  async decommission(id: string): Promise<DeviceEntity | undefined> {
    const [rows] = (await this.devices.query(
      `UPDATE devices SET decommissioned_at = now(), password_hash = 'revoked', online = false
        WHERE id = $1 AND decommissioned_at IS NULL RETURNING *`,
      [id],
    )) as [Row[], number];
    return rows[0] ? fromRaw(rows[0]) : undefined;
  }

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

  /** Device writes queued or in flight (presence, reports, last-seen): the backlog behind "server busy". */
  get queuedWrites(): number {
    return this.presence.queued + this.reports.queued + this.touches.queued;
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
   * caller still waits for its own write.
   */
  touch(id: string): Promise<void> {
    return this.touches.add(id);
  }

  /** One statement, all or nothing: `last_seen_at = now()` for every id. */
  async touchMany(ids: readonly string[]): Promise<void> {
    await this.devices.query(`WITH ${LOCKED_IN_ID_ORDER} UPDATE devices d SET last_seen_at = now() FROM locked WHERE d.id = locked.id`, [
      ids,
    ]);
  }

  /**
   * Coalesced like `touch`: 10,000 devices report each update phase within seconds of a rollout,
   * and one UPDATE per report filled the pool until reports were dropped on acquire timeouts
   * (control-plane/bench/rollout.bench.ts). The caller waits until its report is stored.
   */
  storeReported(id: string, reported: Reported): Promise<void> {
    return this.reports.add({ id, reported });
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
   */
  async storeReportedMany(rows: readonly ReportRow[]): Promise<void> {
    await this.devices.query(
      `WITH ${LOCKED_IN_ID_ORDER}
       UPDATE devices d SET reported = r.reported, reported_at = now(), last_seen_at = now()
         FROM unnest($1::text[], $2::jsonb[]) AS r(id, reported), locked
        WHERE d.id = r.id AND locked.id = r.id AND (d.reported - 'at') IS DISTINCT FROM (r.reported - 'at')
          AND (d.reported IS NULL OR (r.reported->>'at')::timestamptz >= (d.reported->>'at')::timestamptz
               OR (d.reported->>'at')::timestamptz > now())`,
      [rows.map((r) => r.id), rows.map((r) => JSON.stringify(r.reported))],
    );
  }

  /** One row, retried while the error is transient; refused (and recorded), it fails no one else. */
  async storeInventory(id: string, inventory: Inventory): Promise<void> {
    await writeAlone([inventory], () => this.devices.update({ id }, { inventory, inventoryAt: () => 'now()', lastSeenAt: () => 'now()' }), {
      rejected: (_, error) => this.rejected.record(id, 'inventory', error),
    });
  }

  countOnline(): Promise<number> {
    return this.devices.countBy({ online: true });
  }

  /** Runs `UPDATE devices SET <set> WHERE id = $1 AND not decommissioned RETURNING *` ($2… are `params`). */
  private async updateOne(set: string, id: string, params: unknown[]): Promise<DeviceEntity | undefined> {
    const [rows] = (await this.devices.query(`UPDATE devices SET ${set} WHERE id = $1 AND decommissioned_at IS NULL RETURNING *`, [
      id,
      ...params,
    ])) as [Row[], number];
    return rows[0] ? fromRaw(rows[0]) : undefined;
  }
}

function toRecord(raw: Row): DeviceRecord {
  return {
    device: fromRaw(raw),
    fleetConfig: (raw.fleet_config as ConfigMap | null) ?? null,
    lastEvent: raw.event_at
      ? {
          at: raw.event_at as Date,
          kind: raw.event_kind as string,
          rev: raw.event_rev as number | null,
          message: raw.event_message as string,
        }
      : null,
  };
}

function fromRaw(raw: Row): DeviceEntity {
  return Object.assign(new DeviceEntity(), {
    id: raw.id,
    name: raw.name,
    board: raw.board,
    passwordHash: raw.password_hash,
    online: raw.online,
    lastSeenAt: raw.last_seen_at,
    desiredRev: raw.desired_rev,
    desiredReleaseId: raw.desired_release_id,
    reported: raw.reported,
    reportedAt: raw.reported_at,
    inventory: raw.inventory,
    inventoryAt: raw.inventory_at,
    createdAt: raw.created_at,
    fleetId: raw.fleet_id ?? null,
    tags: raw.tags ?? [],
    pinnedReleaseId: raw.pinned_release_id ?? null,
    config: raw.config ?? {},
    decommissionedAt: raw.decommissioned_at ?? null,
  });
}
