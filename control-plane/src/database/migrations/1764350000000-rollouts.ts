import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Rollouts and each device's part in one. The engine claims a rollout row with
 * `FOR UPDATE SKIP LOCKED`, so replicas never act on the same rollout at once.
 */
export class Rollouts1764350000000 implements MigrationInterface {
  name = 'Rollouts1764350000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE rollouts (
        id                uuid PRIMARY KEY,
        name              text NOT NULL,
        release_id        uuid NOT NULL REFERENCES releases (id) ON DELETE RESTRICT,
        selection         jsonb NOT NULL,
        phases            jsonb NOT NULL,
        status            text NOT NULL CHECK (status IN ('running', 'waiting', 'paused', 'completed', 'aborted', 'rolled-back')),
        status_reason     text,
        advance           text NOT NULL CHECK (advance IN ('auto', 'manual')),
        current_phase     integer NOT NULL DEFAULT 0,
        device_timeout_ms integer NOT NULL CHECK (device_timeout_ms > 0),
        accepted_failures integer NOT NULL DEFAULT 0,
        idempotency_key   text UNIQUE,
        request_digest    text NOT NULL,
        created_by        text NOT NULL,
        created_at        timestamptz NOT NULL DEFAULT now(),
        updated_at        timestamptz NOT NULL DEFAULT now()
      )`);
    // The engine's claim query scans only the rollouts still in motion.
    await q.query(`CREATE INDEX rollouts_active_idx ON rollouts (updated_at) WHERE status IN ('running', 'waiting', 'paused')`);
    await q.query(`CREATE INDEX rollouts_created_idx ON rollouts (created_at DESC, id DESC)`);
    await q.query(`
      CREATE TABLE rollout_devices (
        rollout_id          uuid NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
        device_id           text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
        phase               integer NOT NULL,
        state               text NOT NULL CHECK (state IN ('pending', 'updating', 'succeeded', 'failed')),
        assigned_rev        integer,
        assigned_at         timestamptz,
        finished_at         timestamptz,
        previous_release_id uuid REFERENCES releases (id) ON DELETE SET NULL,
        reason              text,
        joined              boolean NOT NULL DEFAULT false,
        PRIMARY KEY (rollout_id, device_id)
      )`);
    await q.query(`CREATE INDEX rollout_devices_device_idx ON rollout_devices (device_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE rollout_devices');
    await q.query('DROP TABLE rollouts');
  }
}
