import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { RolloutDeviceState, RolloutStatus } from '@flotilla/shared';
import { DataSource } from 'typeorm';
import { toDevice, toRecord, type RawRollout, type RawRolloutDevice, type RolloutRecord } from './rollout-rows';
import type { RolloutDevice } from './rollout-state';

export type Counts = Record<RolloutDeviceState | 'accepted' | 'waiting', number>;

/** One operator's acceptance of failures (a resume or an advance), as the rollout view lists it. */
export interface Acceptance {
  acceptedBy: string;
  acceptedAt: Date;
  count: number;
  deviceIds: string[];
}

/** What the API and the metrics show of rollouts: lists, counts, acceptances, a rollout's devices. Reads only. */
@Injectable()
export class RolloutViewRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Newest first, keyset-paginated on (created_at, id). */
  async list(
    filter: { status?: RolloutStatus | undefined; releaseId?: string | undefined },
    limit: number,
    after: [string, string] | undefined,
  ): Promise<RolloutRecord[]> {
    const rows: RawRollout[] = await this.db.query(
      `SELECT * FROM rollouts
       WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR release_id = $2)
         AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
       ORDER BY created_at DESC, id DESC LIMIT $5`,
      [filter.status ?? null, filter.releaseId ?? null, after?.[0] ?? null, after?.[1] ?? null, limit],
    );
    return rows.map((r) => toRecord(r, []));
  }

  /** Per rollout, per phase, how many devices are in each state. */
  async countsByPhase(ids: readonly string[]): Promise<Map<string, Map<number, Counts>>> {
    const rows: { rollout_id: string; phase: number; state: RolloutDeviceState; n: number; accepted: number; waiting: number }[] =
      await this.db.query(
        `SELECT rollout_id, phase, state, count(*)::int AS n, count(accepted_at)::int AS accepted,
         count(waiting_for)::int AS waiting
       FROM rollout_devices WHERE rollout_id = ANY($1::uuid[]) GROUP BY 1, 2, 3`,
        [ids],
      );
    const out = new Map<string, Map<number, Counts>>();
    for (const r of rows) {
      const phases = out.get(r.rollout_id) ?? new Map<number, Counts>();
      out.set(r.rollout_id, phases);
      const counts = phases.get(r.phase) ?? { pending: 0, updating: 0, succeeded: 0, failed: 0, accepted: 0, waiting: 0 };
      phases.set(r.phase, counts);
      counts[r.state] += r.n;
      // As countDevices (rollout-state.ts): only a failed device is accepted, only one being
      // updated waits; a device in another state may keep a stale mark of either.
      if (r.state === 'failed') counts.accepted += r.accepted;
      if (r.state === 'updating') counts.waiting += r.waiting;
    }
    return out;
  }

  /** Who accepted which failures and when, newest first; up to 100 device ids per acceptance. */
  async acceptances(id: string): Promise<Acceptance[]> {
    const rows: { accepted_by: string; accepted_at: Date; n: number; device_ids: string[] }[] = await this.db.query(
      `SELECT accepted_by, accepted_at, count(*)::int AS n, (array_agg(device_id ORDER BY device_id))[1:100] AS device_ids
       FROM rollout_devices WHERE rollout_id = $1 AND accepted_at IS NOT NULL
       GROUP BY accepted_by, accepted_at ORDER BY accepted_at DESC LIMIT 50`,
      [id],
    );
    return rows.map((r) => ({ acceptedBy: r.accepted_by, acceptedAt: r.accepted_at, count: r.n, deviceIds: r.device_ids }));
  }

  async listDevices(
    id: string,
    filter: { state?: RolloutDeviceState | undefined },
    limit: number,
    afterDeviceId: string | undefined,
  ): Promise<RolloutDevice[]> {
    const rows: RawRolloutDevice[] = await this.db.query(
      `SELECT * FROM rollout_devices WHERE rollout_id = $1 AND ($2::text IS NULL OR state = $2) AND ($3::text IS NULL OR device_id > $3)
       ORDER BY device_id LIMIT $4`,
      [id, filter.state ?? null, afterDeviceId ?? null, limit],
    );
    return rows.map(toDevice);
  }

  async countByStatus(): Promise<Record<string, number>> {
    const rows: { status: string; n: number }[] = await this.db.query('SELECT status, count(*)::int AS n FROM rollouts GROUP BY status');
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }
}
