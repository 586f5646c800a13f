import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  ACTIVE_ROLLOUT_STATUSES,
  type RolloutDeviceState,
  type RolloutSelection,
  type RolloutStatus,
  type UpdateStatus,
  type Reported,
  type WindowSchedule,
} from '@flotilla/shared';
import { DataSource, type EntityManager } from 'typeorm';
import { managerOf, unitOfWork, type UnitOfWork } from '../database/unit-of-work';
import type { DeviceReport, RolloutDevice, RolloutPhase, RolloutState } from './rollout-state';

/** A rollout row beyond its decision state: what the API shows. */
export interface RolloutRecord {
  state: RolloutState;
  name: string;
  selection: RolloutSelection;
  requestDigest: string;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface SelectedDevice {
  id: string;
  name: string;
  online: boolean;
  desiredReleaseId: string | null;
  reported: Reported | null;
  /** The board spec name it registered with, and the CPU architecture its inventory reports. */
  board: string | null;
  arch: string | null;
  /** From its inventory; null until it reported one. */
  timeZone: string | null;
  /** Its own maintenance windows, else its fleet's. */
  windows: WindowSchedule | null;
}

export type Counts = Record<RolloutDeviceState | 'accepted' | 'waiting', number>;

/** One operator's acceptance of failures (a resume or an advance), as the rollout view lists it. */
export interface Acceptance {
  acceptedBy: string;
  acceptedAt: Date;
  count: number;
  deviceIds: string[];
}

interface RawRollout {
  id: string;
  name: string;
  release_id: string;
  selection: RolloutSelection;
  phases: RolloutPhase[];
  status: RolloutStatus;
  status_reason: string | null;
  advance: 'auto' | 'manual';
  current_phase: number;
  device_timeout_ms: number;
  force: boolean;
  request_digest: string;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

interface RawRolloutDevice {
  device_id: string;
  phase: number;
  state: RolloutDeviceState;
  assigned_rev: number | null;
  assigned_at: Date | null;
  finished_at: Date | null;
  previous_release_id: string | null;
  reason: string | null;
  joined: boolean;
  accepted_by: string | null;
  accepted_at: Date | null;
  waiting_for: 'lock' | 'window' | null;
}

const ACTIVE = [...ACTIVE_ROLLOUT_STATUSES];

/**
 * Devices matching a selection, as SQL over `devices d` with the selection's fleet, tags and
 * ids at $1..$3. Decommissioned devices are never selected, nor devices pinned to a release:
 * a pin says "this device stays where it is" until someone unpins it.
 */
const IN_SELECTION = `(d.decommissioned_at IS NULL AND d.pinned_release_id IS NULL
  AND ($1::uuid IS NULL OR d.fleet_id = $1)
  AND ($2::text[] IS NULL OR d.tags @> $2)
  AND ($3::text[] IS NULL OR d.id = ANY($3)))`;

function selectionParams(s: RolloutSelection): unknown[] {
  return [s.fleetId ?? null, s.tags?.length ? s.tags : null, s.deviceIds?.length ? s.deviceIds : null];
}

/** The only code that reads or writes `rollouts` and `rollout_devices`. */
@Injectable()
export class RolloutRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  transaction<T>(work: (uow: UnitOfWork) => Promise<T>): Promise<T> {
    return this.db.transaction((em) => work(unitOfWork(em)));
  }

  /** Online devices first, so that a canary is made of devices able to answer; then oldest first. */
  selectDevices(selection: RolloutSelection): Promise<SelectedDevice[]> {
    return this.db
      .query(
        `SELECT d.id, d.name, d.online, d.desired_release_id, d.reported, d.board, d.inventory->>'arch' AS arch,
                d.inventory->>'timeZone' AS time_zone, coalesce(d.update_windows, f.update_windows) AS windows
         FROM devices d LEFT JOIN fleets f ON f.id = d.fleet_id
         WHERE ${IN_SELECTION} ORDER BY d.online DESC, d.created_at, d.id`,
        selectionParams(selection),
      )
      .then(
        (
          rows: {
            id: string;
            name: string;
            online: boolean;
            desired_release_id: string | null;
            reported: Reported | null;
            board: string | null;
            arch: string | null;
            time_zone: string | null;
            windows: WindowSchedule | null;
          }[],
        ) =>
          rows.map((r) => ({
            id: r.id,
            name: r.name,
            online: r.online,
            desiredReleaseId: r.desired_release_id,
            reported: r.reported,
            board: r.board,
            arch: r.arch,
            timeZone: r.time_zone,
            windows: r.windows,
          })),
      );
  }

  /** Devices of `ids` already part of another rollout still in motion. */
  async devicesInActiveRollouts(ids: readonly string[]): Promise<{ deviceId: string; rolloutId: string }[]> {
    const rows: { device_id: string; rollout_id: string }[] = await this.db.query(
      `SELECT rd.device_id, rd.rollout_id FROM rollout_devices rd JOIN rollouts r ON r.id = rd.rollout_id
       WHERE rd.device_id = ANY($1) AND r.status = ANY($2) LIMIT 20`,
      [ids, ACTIVE],
    );
    return rows.map((r) => ({ deviceId: r.device_id, rolloutId: r.rollout_id }));
  }

  async findIdByIdempotencyKey(key: string): Promise<{ id: string; requestDigest: string } | undefined> {
    const rows: { id: string; request_digest: string }[] = await this.db.query(
      'SELECT id, request_digest FROM rollouts WHERE idempotency_key = $1',
      [key],
    );
    return rows[0] ? { id: rows[0].id, requestDigest: rows[0].request_digest } : undefined;
  }

  async insert(uow: UnitOfWork, record: Omit<RolloutRecord, 'createdAt' | 'updatedAt'> & { idempotencyKey: string | null }): Promise<void> {
    const em = managerOf(uow);
    const s = record.state;
    await em.query(
      `INSERT INTO rollouts (id, name, release_id, selection, phases, status, status_reason, advance, current_phase,
         device_timeout_ms, idempotency_key, request_digest, created_by, force)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
      [
        s.id,
        record.name,
        s.releaseId,
        JSON.stringify(record.selection),
        JSON.stringify(s.phases),
        s.status,
        s.statusReason,
        s.advance,
        s.currentPhase,
        s.deviceTimeoutMs,
        record.idempotencyKey,
        record.requestDigest,
        record.createdBy,
        s.force,
      ],
    );
    await this.writeStatusAndDevices(em, s, s.devices);
  }

  /** Waits for the row lock: operator commands must not be skipped. */
  async lock(uow: UnitOfWork, id: string): Promise<boolean> {
    const em = managerOf(uow);
    const rows: unknown[] = await em.query('SELECT id FROM rollouts WHERE id = $1 FOR UPDATE', [id]);
    return rows.length === 1;
  }

  /** With every device of the rollout (what `decide` needs), or without them (what a view needs). */
  async load(uow: UnitOfWork | undefined, id: string, withDevices = true): Promise<RolloutRecord | undefined> {
    const q = uow ? managerOf(uow) : this.db;
    const rows: RawRollout[] = await q.query('SELECT * FROM rollouts WHERE id = $1', [id]);
    if (!rows[0]) return undefined;
    if (!withDevices) return toRecord(rows[0], []);
    const devices: RawRolloutDevice[] = await q.query('SELECT * FROM rollout_devices WHERE rollout_id = $1 ORDER BY phase, device_id', [
      id,
    ]);
    return toRecord(rows[0], devices.map(toDevice));
  }

  /**
   * What the devices of the rollout, and those now in its selection, last reported. Only the two
   * parts of a report a decision reads (`rev`, `update`): a pass runs after every burst of reports,
   * and the whole report (containers, network, …) of every device, parsed each pass, was a large
   * part of the control plane's CPU during a fan-out (control-plane/bench/rollout.bench.ts).
   */
  async loadReports(uow: UnitOfWork, id: string, selection: RolloutSelection): Promise<Map<string, DeviceReport>> {
    const em = managerOf(uow);
    const rows: {
      id: string;
      desired_rev: number;
      desired_release_id: string | null;
      reported_rev: unknown;
      reported_update: UpdateStatus | null;
      in_selection: boolean;
      rolled_back_rev: number | null;
      rolled_back_reason: string | null;
    }[] = await em.query(
      `SELECT d.id, d.desired_rev, d.desired_release_id, d.reported->'rev' AS reported_rev, d.reported->'update' AS reported_update,
              ${IN_SELECTION} AS in_selection,
              ev.rev AS rolled_back_rev, ev.message AS rolled_back_reason
       FROM devices d
       LEFT JOIN LATERAL (
         SELECT e.rev, e.message FROM device_events e
         WHERE e.device_id = d.id AND e.kind = 'update-rolled-back' AND e.rev IS NOT NULL
         ORDER BY e.rev DESC LIMIT 1
       ) ev ON true
       WHERE ${IN_SELECTION} OR d.id IN (SELECT device_id FROM rollout_devices WHERE rollout_id = $4)`,
      [...selectionParams(selection), id],
    );
    return new Map(
      rows.map((r) => [
        r.id,
        {
          deviceId: r.id,
          inSelection: r.in_selection,
          desiredRev: r.desired_rev,
          desiredReleaseId: r.desired_release_id,
          reportedRev: typeof r.reported_rev === 'number' ? r.reported_rev : null,
          // Reports of agents older than the `update` block carry none: treated as no news.
          update: r.reported_update ?? null,
          rolledBackRev: r.rolled_back_rev,
          rolledBackReason: r.rolled_back_reason,
        },
      ]),
    );
  }

  /** Writes what changed between `before` and `after`: the rollout's fields and the devices that moved. */
  async save(uow: UnitOfWork, before: RolloutState, after: RolloutState): Promise<void> {
    const em = managerOf(uow);
    const old = new Map(before.devices.map((d) => [d.deviceId, d]));
    // A device the decision did not touch is the same object (applyActions keeps it): only the
    // touched ones are compared by value. Serialising all of a 10,000-device rollout twice per
    // segment of 1,000 took more CPU than the segment's publishing (control-plane/bench/rollout.bench.ts).
    const changed = after.devices.filter((d) => {
      const was = old.get(d.deviceId);
      return was !== d && JSON.stringify(was) !== JSON.stringify(d);
    });
    await this.writeStatusAndDevices(em, after, changed);
    const kept = new Set(after.devices.map((d) => d.deviceId));
    const dropped = before.devices.filter((d) => !kept.has(d.deviceId)).map((d) => d.deviceId);
    if (dropped.length > 0)
      await em.query('DELETE FROM rollout_devices WHERE rollout_id = $1 AND device_id = ANY($2)', [after.id, dropped]);
  }

  /**
   * The rollout's status and its changed devices in one statement (unnest of parallel arrays, for
   * any number of devices): a segment of a fan-out pays one round trip for both. (On create, the
   * status is the one just inserted.)
   */
  private async writeStatusAndDevices(em: EntityManager, rollout: RolloutState, devices: readonly RolloutDevice[]): Promise<void> {
    if (devices.length === 0) {
      await em.query(`UPDATE rollouts SET status = $2, status_reason = $3, current_phase = $4, updated_at = now() WHERE id = $1`, [
        rollout.id,
        rollout.status,
        rollout.statusReason,
        rollout.currentPhase,
      ]);
      return;
    }
    const ts = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    await em.query(
      `WITH status AS (UPDATE rollouts SET status = $14, status_reason = $15, current_phase = $16, updated_at = now() WHERE id = $1)
       INSERT INTO rollout_devices (rollout_id, device_id, phase, state, assigned_rev, assigned_at, finished_at, previous_release_id, reason, joined,
         accepted_by, accepted_at, waiting_for)
       SELECT $1::uuid, * FROM unnest($2::text[], $3::int[], $4::text[], $5::int[], $6::timestamptz[], $7::timestamptz[], $8::uuid[], $9::text[],
         $10::bool[], $11::text[], $12::timestamptz[], $13::text[])
       ON CONFLICT (rollout_id, device_id) DO UPDATE SET phase = excluded.phase, state = excluded.state,
         assigned_rev = excluded.assigned_rev, assigned_at = excluded.assigned_at, finished_at = excluded.finished_at,
         previous_release_id = excluded.previous_release_id, reason = excluded.reason, joined = excluded.joined,
         accepted_by = excluded.accepted_by, accepted_at = excluded.accepted_at, waiting_for = excluded.waiting_for`,
      [
        rollout.id,
        devices.map((d) => d.deviceId),
        devices.map((d) => d.phase),
        devices.map((d) => d.state),
        devices.map((d) => d.assignedRev),
        devices.map((d) => ts(d.assignedAt)),
        devices.map((d) => ts(d.finishedAt)),
        devices.map((d) => d.previousReleaseId),
        devices.map((d) => d.reason),
        devices.map((d) => d.joined),
        devices.map((d) => d.acceptedBy),
        devices.map((d) => ts(d.acceptedAt)),
        devices.map((d) => d.waitingFor),
        rollout.status,
        rollout.statusReason,
        rollout.currentPhase,
      ],
    );
  }

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
      counts.accepted += r.accepted;
      // Only a device being updated waits; a finished one may keep a stale mark.
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

function toRecord(r: RawRollout, devices: RolloutDevice[]): RolloutRecord {
  return {
    state: {
      id: r.id,
      releaseId: r.release_id,
      status: r.status,
      statusReason: r.status_reason,
      advance: r.advance,
      currentPhase: r.current_phase,
      deviceTimeoutMs: r.device_timeout_ms,
      force: r.force,
      phases: r.phases,
      devices,
    },
    name: r.name,
    selection: r.selection,
    requestDigest: r.request_digest,
    createdBy: r.created_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toDevice(r: RawRolloutDevice): RolloutDevice {
  return {
    deviceId: r.device_id,
    phase: r.phase,
    state: r.state,
    assignedRev: r.assigned_rev,
    assignedAt: r.assigned_at?.getTime() ?? null,
    finishedAt: r.finished_at?.getTime() ?? null,
    previousReleaseId: r.previous_release_id,
    reason: r.reason,
    joined: r.joined,
    acceptedBy: r.accepted_by,
    acceptedAt: r.accepted_at?.getTime() ?? null,
    waitingFor: r.waiting_for,
  };
}
