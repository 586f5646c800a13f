import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Several control-plane replicas on one database (issue 14):
 * - a rollout's decisions are leased to one replica at a time; `lease_token` grows with every
 *   claim and fences the writes of a holder that lost its lease; `decision_seq` numbers the
 *   decisions, each recorded once in `rollout_decisions` (replica, token, actions);
 * - `scheduled_jobs`: when each timed job (retention) is due, and who runs it now;
 * - statement triggers announce changes the dashboard's live feed shows on the channel
 *   `flotilla_changes` (the table's name as payload), so every replica's feed hears every
 *   writer. Only the columns the feed shows fire them: a device's `last_seen_at` does not.
 */
export class Replicas1765000000000 implements MigrationInterface {
  name = 'Replicas1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE rollouts ADD COLUMN lease_holder text, ADD COLUMN lease_token bigint NOT NULL DEFAULT 0,
      ADD COLUMN lease_expires_at timestamptz, ADD COLUMN decision_seq bigint NOT NULL DEFAULT 0`);
    await q.query(`CREATE TABLE rollout_decisions (
      rollout_id uuid NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,
      seq bigint NOT NULL,
      holder text NOT NULL,
      lease_token bigint NOT NULL,
      actions jsonb NOT NULL,
      decided_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (rollout_id, seq))`);
    await q.query(`CREATE TABLE scheduled_jobs (
      name text PRIMARY KEY,
      next_due_at timestamptz NOT NULL DEFAULT now(),
      holder text,
      running_until timestamptz,
      runs bigint NOT NULL DEFAULT 0,
      last_started_at timestamptz,
      last_finished_at timestamptz)`);
    await q.query(`CREATE FUNCTION flotilla_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_notify('flotilla_changes', TG_TABLE_NAME); RETURN NULL; END $$`);
    const watched: [string, string][] = [
      ['devices', 'INSERT OR DELETE OR UPDATE OF name, online, reported, reported_at, inventory_at, decommissioned_at'],
      ['rollouts', 'INSERT OR DELETE OR UPDATE OF status, status_reason, current_phase'],
      ['rollout_devices', 'INSERT OR DELETE OR UPDATE'],
      ['releases', 'INSERT'],
    ];
    for (const [table, events] of watched) {
      await q.query(
        `CREATE TRIGGER ${table}_live AFTER ${events} ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION flotilla_notify_change()`,
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['devices', 'rollouts', 'rollout_devices', 'releases']) await q.query(`DROP TRIGGER ${table}_live ON ${table}`);
    await q.query('DROP FUNCTION flotilla_notify_change()');
    await q.query('DROP TABLE scheduled_jobs');
    await q.query('DROP TABLE rollout_decisions');
    await q.query(
      `ALTER TABLE rollouts DROP COLUMN lease_holder, DROP COLUMN lease_token, DROP COLUMN lease_expires_at, DROP COLUMN decision_seq`,
    );
  }
}
