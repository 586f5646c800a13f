import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';

export interface ChangedDevice {
  id: string;
  name: string;
  online: boolean;
  createdAt: Date;
  reportedAt: Date | null;
  inventoryAt: Date | null;
  decommissionedAt: Date | null;
  updatePhase: string | null;
}

export interface RolloutProgress {
  id: string;
  status: string;
  currentPhase: number;
  updatedAt: Date;
  /** Devices per state, `state:count,…`: changes whenever a device moves. */
  states: string | null;
}

/** What the dashboard's live feed reads: rows touched since a moment, by the database's clock. */
@Injectable()
export class ChangeFeedRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  get ready(): boolean {
    return this.db.isInitialized;
  }

  async now(): Promise<Date> {
    const [{ now }] = (await this.db.query('SELECT now() AS now')) as [{ now: Date }];
    return now;
  }

  async devicesChangedSince(since: Date): Promise<ChangedDevice[]> {
    const rows: {
      id: string;
      name: string;
      online: boolean;
      created_at: Date;
      reported_at: Date | null;
      inventory_at: Date | null;
      decommissioned_at: Date | null;
      phase: string | null;
    }[] = await this.db.query(
      `SELECT id, name, online, created_at, reported_at, inventory_at, decommissioned_at, reported->'update'->>'phase' AS phase
         FROM devices
        WHERE created_at > $1 OR last_seen_at > $1 OR reported_at > $1 OR inventory_at > $1 OR decommissioned_at > $1`,
      [since],
    );
    return rows.map((d) => ({
      id: d.id,
      name: d.name,
      online: d.online,
      createdAt: d.created_at,
      reportedAt: d.reported_at,
      inventoryAt: d.inventory_at,
      decommissionedAt: d.decommissioned_at,
      updatePhase: d.phase,
    }));
  }

  /** Every rollout in motion, those that stopped since, and those of `ids` whatever their state. */
  async rolloutsActiveOrChangedSince(since: Date, ids: readonly string[] = []): Promise<RolloutProgress[]> {
    const rows: { id: string; status: string; current_phase: number; updated_at: Date; states: string | null }[] = await this.db.query(
      `SELECT r.id, r.status, r.current_phase, r.updated_at,
              (SELECT string_agg(state || ':' || n, ',' ORDER BY state)
                 FROM (SELECT state, count(*) AS n FROM rollout_devices WHERE rollout_id = r.id GROUP BY state) s) AS states
         FROM rollouts r
        WHERE r.status IN ('running', 'waiting', 'paused') OR r.updated_at > $1 OR r.id = ANY($2::uuid[])`,
      [since, ids],
    );
    return rows.map((r) => ({ id: r.id, status: r.status, currentPhase: r.current_phase, updatedAt: r.updated_at, states: r.states }));
  }

  async releasesCreatedSince(since: Date): Promise<string[]> {
    const rows: { id: string }[] = await this.db.query('SELECT id FROM releases WHERE created_at > $1', [since]);
    return rows.map((r) => r.id);
  }
}
