import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Accepted failures become explicit: each failed device an operator accepted (by resume or
 * advance) records who and when, instead of the rollout keeping a bare count. Rollouts that
 * already accepted failures keep them: their oldest failures up to that count are marked
 * accepted by `unrecorded` at the time they failed (who resumed was not stored before).
 */
export class AcceptedFailures1764570000000 implements MigrationInterface {
  name = 'AcceptedFailures1764570000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE rollout_devices ADD COLUMN accepted_by text, ADD COLUMN accepted_at timestamptz');
    await q.query(`
      UPDATE rollout_devices rd SET accepted_by = 'unrecorded', accepted_at = coalesce(rd.finished_at, now())
      FROM (
        SELECT d.rollout_id, d.device_id,
               row_number() OVER (PARTITION BY d.rollout_id ORDER BY d.finished_at NULLS LAST, d.device_id) AS n, r.accepted_failures
        FROM rollout_devices d JOIN rollouts r ON r.id = d.rollout_id
        WHERE d.state = 'failed' AND r.accepted_failures > 0
      ) f
      WHERE rd.rollout_id = f.rollout_id AND rd.device_id = f.device_id AND f.n <= f.accepted_failures`);
    await q.query('ALTER TABLE rollouts DROP COLUMN accepted_failures');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE rollouts ADD COLUMN accepted_failures integer NOT NULL DEFAULT 0');
    await q.query(`UPDATE rollouts r SET accepted_failures = (
      SELECT count(*) FROM rollout_devices d WHERE d.rollout_id = r.id AND d.accepted_at IS NOT NULL)`);
    await q.query('ALTER TABLE rollout_devices DROP COLUMN accepted_at, DROP COLUMN accepted_by');
  }
}
