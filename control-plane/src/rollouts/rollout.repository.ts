import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { managerOf, unitOfWork, type UnitOfWork } from '../database/unit-of-work';
import { toDevice, toRecord, type RawRollout, type RawRolloutDevice, type RolloutRecord } from './rollout-rows';
import { pendingDevice, type RolloutDevice, type RolloutState } from './rollout-state';

/**
 * The only code that writes `rollouts` and `rollout_devices`: a rollout's creation, and its state
 * as a pass or an operator command loads, locks and saves it. What the API lists is read by
 * `RolloutViewRepository`; the devices a rollout is about, by `RolloutSelectionRepository`.
 */
@Injectable()
export class RolloutRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  transaction<T>(work: (uow: UnitOfWork) => Promise<T>): Promise<T> {
    return this.db.transaction((em) => work(unitOfWork(em)));
  }

  async findIdByIdempotencyKey(key: string): Promise<{ id: string; requestDigest: string } | undefined> {
    const rows: { id: string; request_digest: string }[] = await this.db.query(
      'SELECT id, request_digest FROM rollouts WHERE idempotency_key = $1',
      [key],
    );
    return rows[0] ? { id: rows[0].id, requestDigest: rows[0].request_digest } : undefined;
  }

  /** Returns the record as stored (its timestamps are the database's). */
  async insert(
    uow: UnitOfWork,
    record: Omit<RolloutRecord, 'createdAt' | 'updatedAt'> & { idempotencyKey: string | null },
  ): Promise<RolloutRecord> {
    const em = managerOf(uow);
    const s = record.state;
    const notPending = s.devices.find((d) => !sameFields(d, pendingDevice(d.deviceId, d.phase)));
    if (notPending)
      throw new Error(`rollout ${s.id}: device ${notPending.deviceId} of a new rollout is not pending as created (pendingDevice)`);
    const [stored]: { created_at: Date; updated_at: Date }[] = await em.query(
      `INSERT INTO rollouts (id, name, release_id, selection, phases, status, status_reason, advance, current_phase,
         device_timeout_ms, idempotency_key, request_digest, created_by, force)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING created_at, updated_at`,
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
    // Only what differs from a pending device, not every column as `writeStatusAndDevices` writes
    // them: these rows are part of a rollout's time before its first device is told, and for
    // 10,000 devices the upsert of 13 arrays took 173 ms against 134 for these 2, on durable
    // PostgreSQL (`npm run bench -- rollout-creation`).
    await em.query(
      `INSERT INTO rollout_devices (rollout_id, device_id, phase, state)
       SELECT $1::uuid, device_id, phase, 'pending' FROM unnest($2::text[], $3::int[]) AS d (device_id, phase)`,
      [s.id, s.devices.map((d) => d.deviceId), s.devices.map((d) => d.phase)],
    );
    const { idempotencyKey: _key, ...stated } = record;
    return { ...stated, createdAt: stored!.created_at, updatedAt: stored!.updated_at };
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

  /** Writes what changed between `before` and `after`: the rollout's fields and the devices that moved. */
  async save(uow: UnitOfWork, before: RolloutState, after: RolloutState): Promise<void> {
    const em = managerOf(uow);
    const old = new Map(before.devices.map((d) => [d.deviceId, d]));
    // A device the decision did not touch is the same object (applyActions keeps it): only the
    // touched ones are compared by value, field by field. Serialising all of a 10,000-device
    // rollout twice per segment of 1,000 took more CPU than the segment's publishing, and the touched
    // ones' JSON still showed in a fan-out's profile (control-plane/bench/rollout.bench.ts).
    const changed = after.devices.filter((d) => {
      const was = old.get(d.deviceId);
      return was !== d && (was === undefined || !sameFields(was, d));
    });
    await this.writeStatusAndDevices(em, after, changed);
    const kept = new Set(after.devices.map((d) => d.deviceId));
    const dropped = before.devices.filter((d) => !kept.has(d.deviceId)).map((d) => d.deviceId);
    if (dropped.length > 0)
      await em.query('DELETE FROM rollout_devices WHERE rollout_id = $1 AND device_id = ANY($2)', [after.id, dropped]);
  }

  /**
   * The rollout's status and its changed devices in one statement (unnest of parallel arrays, for
   * any number of devices): a segment of a fan-out pays one round trip for both.
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
}

/** Whether two rollout devices hold the same values (every field is a primitive). */
function sameFields(a: RolloutDevice, b: RolloutDevice): boolean {
  const keys = Object.keys(a) as (keyof RolloutDevice)[];
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}
