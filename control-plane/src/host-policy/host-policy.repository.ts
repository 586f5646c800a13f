import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AssemblySpec, HostPolicy } from '@flotilla/shared';

export interface StoredHostPolicy {
  fleetId: string;
  policy: HostPolicy;
  updatedBy: string;
  updatedAt: Date;
}

/** Where devices stand: their fleet (null: none) and its name, for policy checks. */
export interface DeviceFleet {
  deviceId: string;
  fleetId: string | null;
  fleetName: string | null;
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

  async find(fleetIds: readonly string[]): Promise<Map<string, StoredHostPolicy>> {
    if (fleetIds.length === 0) return new Map();
    const rows: { fleet_id: string; policy: HostPolicy; updated_by: string; updated_at: Date }[] = await this.db.query(
      'SELECT fleet_id, policy, updated_by, updated_at FROM fleet_host_policies WHERE fleet_id = ANY($1::uuid[])',
      [fleetIds],
    );
    return new Map(
      rows.map((r) => [r.fleet_id, { fleetId: r.fleet_id, policy: r.policy, updatedBy: r.updated_by, updatedAt: r.updated_at }]),
    );
  }

  async upsert(fleetId: string, policy: HostPolicy, updatedBy: string): Promise<StoredHostPolicy> {
    const [r]: { fleet_id: string; policy: HostPolicy; updated_by: string; updated_at: Date }[] = await this.db.query(
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
  async releasesBoundTo(fleetId: string): Promise<BoundRelease[]> {
    const rows: { id: string; name: string; version: string; assembly: AssemblySpec; target: boolean; devices: string }[] =
      await this.db.query(
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

  async fleetName(fleetId: string): Promise<string | undefined> {
    const [row]: { name: string }[] = await this.db.query('SELECT name FROM fleets WHERE id = $1', [fleetId]);
    return row?.name;
  }

  async fleetsOfDevices(deviceIds: readonly string[]): Promise<DeviceFleet[]> {
    const rows: { id: string; fleet_id: string | null; name: string | null }[] = await this.db.query(
      'SELECT d.id, d.fleet_id, f.name FROM devices d LEFT JOIN fleets f ON f.id = d.fleet_id WHERE d.id = ANY($1::text[])',
      [deviceIds],
    );
    return rows.map((r) => ({ deviceId: r.id, fleetId: r.fleet_id, fleetName: r.name }));
  }
}
