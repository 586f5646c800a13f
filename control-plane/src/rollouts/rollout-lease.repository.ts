import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { ACTIVE_ROLLOUT_STATUSES } from '@flotilla/shared';
import type { DataSource } from 'typeorm';
import { managerOf, unitOfWork, type UnitOfWork } from '../database/unit-of-work';
import type { RolloutAction } from './rollout-state';

/** One replica's right to decide for one rollout until `expires`; `token` fences the writes of an earlier holder. */
export interface RolloutLease {
  rolloutId: string;
  holder: string;
  token: number;
}

/** The lease was taken over (its holder paused or was cut off past its expiry): the decision is dropped, nothing was written. */
export class LeaseLostError extends Error {
  constructor(lease: RolloutLease) {
    super(`rollout ${lease.rolloutId}: lease ${lease.token} of ${lease.holder} was taken over; its decision is dropped`);
    this.name = 'LeaseLostError';
  }
}

const ACTIVE = [...ACTIVE_ROLLOUT_STATUSES];

/**
 * Which replica decides for which rollout. A claim takes a rollout in motion whose lease is free,
 * expired or already this replica's, and raises its token; a decision then runs in a transaction
 * that first locks the rollout's row on condition that the lease still holds with that very
 * token. A takeover must raise the token on that row, so it cannot happen between the check and
 * the commit: every write of the decision (device assignments, the rollout's record, the
 * decision log) is fenced by the check. The transaction also ends itself if its holder stops
 * talking (`idle_in_transaction_session_timeout`), so a frozen holder cannot keep the row locked.
 */
@Injectable()
export class RolloutLeaseRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async claimNext(holder: string, leaseMs: number, skip: readonly string[]): Promise<RolloutLease | undefined> {
    const [rows] = (await this.db.query(
      `UPDATE rollouts SET lease_holder = $1, lease_token = lease_token + 1, lease_expires_at = now() + $2 * interval '1 millisecond'
        WHERE id = (SELECT id FROM rollouts
                     WHERE status = ANY($3) AND NOT (id = ANY($4::uuid[]))
                       AND (lease_holder = $1 OR lease_holder IS NULL OR lease_expires_at < now())
                     ORDER BY updated_at LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING id, lease_token`,
      [holder, leaseMs, ACTIVE, skip],
    )) as [{ id: string; lease_token: string }[], number];
    const row = rows[0];
    return row && { rolloutId: row.id, holder, token: Number(row.lease_token) };
  }

  /**
   * Runs `work` in a transaction fenced by `lease`, renewing it (a pass applies a decision in
   * several transactions); throws LeaseLostError (having written nothing) when the lease no longer holds.
   */
  underLease<T>(lease: RolloutLease, leaseMs: number, work: (uow: UnitOfWork) => Promise<T>): Promise<T> {
    return this.db.transaction(async (em) => {
      // The transaction's timeouts are set by the same statement that renews the lease: joined to
      // it, they are in force before it waits for the row's lock. One round trip fewer per
      // segment of a fan-out, where each one waits for a turn of the busy event loop (~0.1–0.3 s
      // under 10,000 devices' answers, control-plane/bench/rollout.bench.ts).
      const [held] = (await em.query(
        `UPDATE rollouts SET lease_expires_at = now() + $4 * interval '1 millisecond'
           FROM (SELECT set_config('idle_in_transaction_session_timeout', $5, true) AS idle,
                        set_config('lock_timeout', $5, true) AS lock) AS timeouts
         WHERE id = $1 AND lease_holder = $2 AND lease_token = $3 AND lease_expires_at > clock_timestamp() RETURNING id`,
        [lease.rolloutId, lease.holder, lease.token, leaseMs, `${leaseMs}ms`],
      )) as [unknown[], number];
      if (held.length === 0) throw new LeaseLostError(lease);
      return work(unitOfWork(em));
    });
  }

  /**
   * Numbers the decision and keeps it in `rollout_decisions` (who, under which token, what), within
   * the fenced transaction. One statement: each round trip of a segment's transaction waits for a
   * turn of the control plane's busy event loop during a fan-out (control-plane/bench/rollout.bench.ts).
   */
  async recordDecision(uow: UnitOfWork, lease: RolloutLease, actions: readonly RolloutAction[]): Promise<number> {
    // An INSERT: TypeORM answers with its rows alone (an UPDATE's with [rows, count]).
    const rows = (await managerOf(uow).query(
      `WITH numbered AS (
         UPDATE rollouts SET decision_seq = decision_seq + 1 WHERE id = $1 AND lease_holder = $2 AND lease_token = $3 RETURNING decision_seq)
       INSERT INTO rollout_decisions (rollout_id, seq, holder, lease_token, actions)
       SELECT $1, decision_seq, $2, $3, $4::jsonb FROM numbered RETURNING seq`,
      [lease.rolloutId, lease.holder, lease.token, JSON.stringify(actions)],
    )) as { seq: string }[];
    if (!rows[0]) throw new LeaseLostError(lease);
    return Number(rows[0].seq);
  }

  /** At an orderly stop: another replica may take this one's rollouts at once instead of after the expiry. */
  async releaseAll(holder: string): Promise<void> {
    await this.db.query('UPDATE rollouts SET lease_holder = NULL, lease_expires_at = NULL WHERE lease_holder = $1', [holder]);
  }
}
