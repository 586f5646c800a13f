import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { HostPolicy } from '@flotilla/shared';

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
