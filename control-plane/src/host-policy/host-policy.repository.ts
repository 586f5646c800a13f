import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AssemblySpec, HostPolicy } from '@flotilla/shared';
import { managerOf, unitOfWork, type UnitOfWork } from '../database/unit-of-work';
import { retryTransientWithin } from '../database/write-alone';

/**
 * The first key of the advisory locks that serialise, per fleet, the host-policy write and every
 * check-and-write binding a release with host-level powers to the fleet's devices; the second is
 * the hash of the fleet's id. The two-key form: apart from the single-key locks used elsewhere.
 */
export const FLEET_POLICY_LOCK = 0x686f7374; // "host"

/**
 * Takes the lock of each fleet ($1: ids) for the rest of the transaction, one at a time in the
 * order of their keys, so that two transactions locking several fleets never wait on each other
 * in a cycle.
 */
export const LOCK_FLEETS_SQL = `SELECT pg_advisory_xact_lock(${FLEET_POLICY_LOCK}, k)
  FROM (SELECT DISTINCT hashtext(id::text) AS k FROM unnest($1::uuid[]) id ORDER BY k) keys`;

export interface StoredHostPolicy {
  fleetId: string;
  policy: HostPolicy;
  updatedBy: string;
  updatedAt: Date;
}

/** How long an operator's request binding a release (or an admin's setting a policy) is run again after transient errors. */
const RETRY_MS = 10_000;

/** Where devices stand: their fleet (null: none) and its name, for policy checks. */
export interface DeviceFleet {
  deviceId: string;
  fleetId: string | null;
  fleetName: string | null;
}

/** A device about to move fleets: where it is, and the release it will run where it goes (null: none). */
export interface DeviceMove {
  fromFleetId: string | null;
  keeps: string | null;
}

/** A release a fleet is bound to (`releasesBoundTo`). */
export interface BoundRelease {
  releaseId: string;
  /** `name@version`, for messages. */
  label: string;
  assembly: AssemblySpec;
  /** It is the fleet's target. */
  target: boolean;
  /** Devices of the fleet assigned or pinned to it. */
  devices: number;
}

@Injectable()
export class HostPolicyRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * `work` in a transaction, run again while it fails with a transient error (a deadlock victim
   * among them) for up to `RETRY_MS`; past it the request answers 503 (ApiExceptionFilter).
   */
  transaction<T>(work: (uow: UnitOfWork) => Promise<T>): Promise<T> {
    return retryTransientWithin(RETRY_MS, () => this.db.transaction((em) => work(unitOfWork(em))));
  }

  /** See LOCK_FLEETS_SQL; held until `uow` ends. */
  async lockFleets(uow: UnitOfWork, fleetIds: readonly string[]): Promise<void> {
    if (fleetIds.length > 0) await managerOf(uow).query(LOCK_FLEETS_SQL, [[...new Set(fleetIds)]]);
  }

  async find(fleetIds: readonly string[], uow?: UnitOfWork | null): Promise<Map<string, StoredHostPolicy>> {
    if (fleetIds.length === 0) return new Map();
    const rows: { fleet_id: string; policy: HostPolicy; updated_by: string; updated_at: Date }[] = await this.q(uow).query(
      'SELECT fleet_id, policy, updated_by, updated_at FROM fleet_host_policies WHERE fleet_id = ANY($1::uuid[])',
      [fleetIds],
    );
    return new Map(
      rows.map((r) => [r.fleet_id, { fleetId: r.fleet_id, policy: r.policy, updatedBy: r.updated_by, updatedAt: r.updated_at }]),
    );
  }

  async upsert(uow: UnitOfWork, fleetId: string, policy: HostPolicy, updatedBy: string): Promise<StoredHostPolicy> {
    const [r]: { fleet_id: string; policy: HostPolicy; updated_by: string; updated_at: Date }[] = await managerOf(uow).query(
      `INSERT INTO fleet_host_policies (fleet_id, policy, updated_by) VALUES ($1, $2, $3)
       ON CONFLICT (fleet_id) DO UPDATE SET policy = EXCLUDED.policy, updated_by = EXCLUDED.updated_by, updated_at = now()
       RETURNING fleet_id, policy, updated_by, updated_at`,
      [fleetId, JSON.stringify(policy), updatedBy],
    );
    return { fleetId: r!.fleet_id, policy: r!.policy, updatedBy: r!.updated_by, updatedAt: r!.updated_at };
  }

  /**
   * The releases a fleet is bound to: its target, and what its devices (not decommissioned) are
   * assigned or pinned to, with how many devices each.
   */
  async releasesBoundTo(uow: UnitOfWork, fleetId: string): Promise<BoundRelease[]> {
    const rows: { id: string; name: string; version: string; assembly: AssemblySpec; target: boolean; devices: string }[] = await managerOf(
      uow,
    ).query(
      `WITH bound AS (
           SELECT target_release_id AS release_id, true AS target, NULL::text AS device_id FROM fleets WHERE id = $1
           UNION ALL SELECT desired_release_id, false, id FROM devices WHERE fleet_id = $1 AND decommissioned_at IS NULL
           UNION ALL SELECT pinned_release_id, false, id FROM devices WHERE fleet_id = $1 AND decommissioned_at IS NULL)
         SELECT r.id, r.name, r.version, r.assembly, bool_or(b.target) AS target, count(DISTINCT b.device_id) AS devices
           FROM bound b JOIN releases r ON r.id = b.release_id
          GROUP BY r.id ORDER BY r.id`,
      [fleetId],
    );
    return rows.map((r) => ({
      releaseId: r.id,
      label: `${r.name}@${r.version}`,
      assembly: r.assembly,
      target: r.target,
      devices: Number(r.devices),
    }));
  }

  async fleetName(fleetId: string, uow?: UnitOfWork | null): Promise<string | undefined> {
    const [row]: { name: string }[] = await this.q(uow).query('SELECT name FROM fleets WHERE id = $1', [fleetId]);
    return row?.name;
  }

  async fleetsOfDevices(deviceIds: readonly string[], uow?: UnitOfWork | null): Promise<DeviceFleet[]> {
    const rows: { id: string; fleet_id: string | null; name: string | null }[] = await this.q(uow).query(
      'SELECT d.id, d.fleet_id, f.name FROM devices d LEFT JOIN fleets f ON f.id = d.fleet_id WHERE d.id = ANY($1::text[])',
      [deviceIds],
    );
    return rows.map((r) => ({ deviceId: r.id, fleetId: r.fleet_id, fleetName: r.name }));
  }

  /**
   * The device's fleet, and the release it will run in fleet `toFleetId` (null: none): its pin,
   * else that fleet's target, else the release it is assigned (as `moveToFleet` writes it).
   * Undefined for an unknown or decommissioned device.
   */
  async deviceMove(uow: UnitOfWork, deviceId: string, toFleetId: string | null): Promise<DeviceMove | undefined> {
    const [row]: { fleet_id: string | null; keeps: string | null }[] = await managerOf(uow).query(
      `SELECT fleet_id, COALESCE(pinned_release_id, (SELECT target_release_id FROM fleets WHERE id = $2::uuid), desired_release_id) AS keeps
         FROM devices WHERE id = $1 AND decommissioned_at IS NULL`,
      [deviceId, toFleetId],
    );
    return row && { fromFleetId: row.fleet_id, keeps: row.keeps };
  }

  async assembly(uow: UnitOfWork, releaseId: string): Promise<AssemblySpec | undefined> {
    const [row]: { assembly: AssemblySpec }[] = await managerOf(uow).query('SELECT assembly FROM releases WHERE id = $1', [releaseId]);
    return row?.assembly;
  }

  /** Inside `uow` when given: reads made under a lock it holds. */
  private q(uow: UnitOfWork | null | undefined): { query: DataSource['query'] } {
    return uow ? managerOf(uow) : this.db;
  }
}
