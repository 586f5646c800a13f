import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { ConfigMap, WindowSchedule } from '@flotilla/shared';
import { Repository } from 'typeorm';
import { managerOf, type UnitOfWork } from '../database/unit-of-work';
import { DESIRED_STATE_COLUMNS, desiredStateFromRow, desiredStateSelect } from './desired-state-rows';
import type { DesiredState } from './device-record.repository';
import { deviceFromRow, LOCKED_IN_ID_ORDER, lockedInIdOrder, type Row } from './device-rows';
import { DeviceEntity } from './device.entity';

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

/**
 * `newest_release_at` raised to the age of release $2, read once for the whole statement: the
 * row trigger that otherwise keeps it reads it once a row (migration 1765260000000).
 */
const NEWEST_RELEASE_AT = `GREATEST(d.newest_release_at, (SELECT created_at FROM releases WHERE id = $2))`;
/** The devices of fleet $1 its target, release $2, has still to reach: unpinned, not decommissioned, on another release. */
const FLEET_TARGET_PENDING =
  'fleet_id = $1 AND pinned_release_id IS NULL AND decommissioned_at IS NULL AND desired_release_id IS DISTINCT FROM $2';

/**
 * The operator's writes of `devices`: registration, what a device should run (release, pin,
 * fleet, configuration, windows, a forced update), tags, decommissioning. Every change of what a
 * device should run bumps `desired_rev` in the same statement, so concurrent changes each get
 * their own rev; callers then publish the device's current desired state. Decommissioned
 * devices are never assigned anything.
 */
@Injectable()
export class DeviceAssignmentRepository {
  constructor(@InjectRepository(DeviceEntity) private readonly devices: Repository<DeviceEntity>) {}

  /**
   * A device in a fleet starts with the fleet's target release at rev 1, read in the same
   * statement under a share lock of the fleet's row, held until the registration commits: a
   * target set concurrently is either seen here or set after, and its job then finds this device
   * (it would not see it uncommitted, and the device would keep the old target for good, one its
   * fleet's host policy may have been narrowed under since: it takes the target without a check).
   * False when the id is already there: ids are random, so only a retried transaction whose
   * commit had landed after all (its reply lost) meets its own row.
   */
  async insert(uow: UnitOfWork, device: NewDevice): Promise<boolean> {
    const rows = (await managerOf(uow).query(
      `WITH target AS (SELECT (SELECT target_release_id FROM fleets WHERE id = $5::uuid FOR SHARE) AS release_id)
       INSERT INTO devices (id, name, board, password_hash, fleet_id, desired_release_id, desired_rev, online, tags, config, registered_by_admin)
       SELECT $1, $2, $3, $4, $5::uuid, target.release_id, CASE WHEN target.release_id IS NULL THEN 0 ELSE 1 END, false, '{}', '{}', $6
         FROM target
       ON CONFLICT (id) DO NOTHING
       RETURNING id`,
      [device.id, device.name, device.board, device.passwordHash, device.fleetId, device.registeredByAdmin],
    )) as Row[];
    return rows.length === 1;
  }

  /** Points the device at a release and bumps its rev in one statement, inside `uow` (where its host policy was checked). */
  async assignRelease(uow: UnitOfWork, id: string, releaseId: string): Promise<DeviceEntity | undefined> {
    return this.updateOne(`desired_release_id = $2, desired_rev = desired_rev + 1, desired_force = false`, id, [releaseId], uow);
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
   * caller's transaction `uow`. Returns the desired state of every device assigned, as the
   * statement left it (what a read after the commit would give, without that read: the caller
   * publishes these); unknown and decommissioned devices are absent, as `assignRelease` refuses them.
   */
  async assignReleaseToMany(uow: UnitOfWork, ids: readonly string[], releaseId: string, force = false): Promise<Map<string, DesiredState>> {
    if (ids.length === 0) return new Map();
    const rows = (await managerOf(uow).query(
      `WITH ${LOCKED_IN_ID_ORDER},
       assigned AS (UPDATE devices d SET desired_release_id = $2, desired_rev = d.desired_rev + 1, desired_force = $3,
           newest_release_at = ${NEWEST_RELEASE_AT}
         FROM locked WHERE d.id = locked.id AND d.decommissioned_at IS NULL
         RETURNING ${DESIRED_STATE_COLUMNS})
       ${desiredStateSelect('assigned')}`,
      [ids, releaseId, force],
    )) as Row[];
    return new Map(rows.map((r) => [r.id as string, desiredStateFromRow(r)]));
  }

  /** Inside `uow`, where its host policy was checked. */
  async pinRelease(uow: UnitOfWork, id: string, releaseId: string): Promise<DeviceEntity | undefined> {
    return this.updateOne(
      `pinned_release_id = $2, desired_release_id = $2, desired_rev = desired_rev + 1, desired_force = false`,
      id,
      [releaseId],
      uow,
    );
  }

  /**
   * Unpinned, the device follows its fleet's target again (if the fleet has one); the rev moves
   * only when the release does. The target is read under a share lock of the fleet's row, as at
   * registration (`insert`): a target set meanwhile waits, and its job then finds the device.
   */
  async unpin(id: string): Promise<DeviceEntity | undefined> {
    const target = `(SELECT target_release_id FROM fleets WHERE id = devices.fleet_id FOR SHARE)`;
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
   * the rev always moves; an unpinned device takes the new fleet's target when it has one, read
   * under a share lock of the fleet's row, as at registration (`insert`). Inside `uow`, where the
   * release it keeps was checked against the new fleet's policy.
   */
  async moveToFleet(uow: UnitOfWork, id: string, fleetId: string | null): Promise<DeviceEntity | undefined> {
    return this.updateOne(
      `fleet_id = $2::uuid,
       desired_release_id = CASE WHEN pinned_release_id IS NULL
         THEN COALESCE((SELECT target_release_id FROM fleets WHERE id = $2::uuid FOR SHARE), desired_release_id)
         ELSE desired_release_id END,
       desired_rev = desired_rev + 1`,
      id,
      [fleetId],
      uow,
    );
  }

  /**
   * Assigns the fleet's target to the next `limit` (null: all) of its unpinned devices that do not
   * have it yet, in id order after `after` (null: from the first), and returns their ids in that
   * order, and whether devices may be left past the last of them (the segment was full: the next
   * one finds out, possibly with none). A segment starts after the last one's last device, so a
   * device assigned once is not assigned again by the same job, whatever happens to it meanwhile.
   */
  async assignFleetTargetSegment(
    uow: UnitOfWork,
    fleetId: string,
    releaseId: string,
    after: string | null,
    limit: number | null,
  ): Promise<{ ids: string[]; more: boolean }> {
    const [rows] = (await managerOf(uow).query(
      `WITH ${lockedInIdOrder(`${FLEET_TARGET_PENDING} AND ($3::text IS NULL OR id COLLATE "C" > $3)`, '$4::int')}
       UPDATE devices d SET desired_release_id = $2, desired_rev = d.desired_rev + 1, newest_release_at = ${NEWEST_RELEASE_AT}
         FROM locked WHERE d.id = locked.id
       RETURNING d.id`,
      [fleetId, releaseId, after, limit],
    )) as [Row[], number];
    // JavaScript's order of these ids ([A-Za-z0-9_-]) is "C" order.
    const ids = rows.map((r) => r.id as string).sort();
    // A row that changed under the lock is passed over for the next (see lockedInIdOrder), so only the last segment comes back short.
    return { ids, more: ids.length === limit };
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
    return rows[0] ? deviceFromRow(rows[0]) : undefined;
  }

  /** Runs `UPDATE devices SET <set> WHERE id = $1 AND not decommissioned RETURNING *` ($2… are `params`), inside `uow` when given. */
  private async updateOne(set: string, id: string, params: unknown[], uow?: UnitOfWork): Promise<DeviceEntity | undefined> {
    const [rows] = (await (uow ? managerOf(uow) : this.devices).query(
      `UPDATE devices SET ${set} WHERE id = $1 AND decommissioned_at IS NULL RETURNING *`,
      [id, ...params],
    )) as [Row[], number];
    return rows[0] ? deviceFromRow(rows[0]) : undefined;
  }
}
