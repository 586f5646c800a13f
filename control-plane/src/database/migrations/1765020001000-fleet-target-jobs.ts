import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A fleet target's assignment as a background job (fleets/fleet-target-jobs.ts): `device_ids` is
 * null until the assignment committed, then the devices it changed; `published` counts how many
 * of them were handed their desired state, so a restart resumes there. A lease lets one replica
 * run a job at a time.
 */
export class FleetTargetJobs1765020001000 implements MigrationInterface {
  name = 'FleetTargetJobs1765020001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE fleet_target_jobs (
        id          uuid PRIMARY KEY,
        fleet_id    uuid NOT NULL REFERENCES fleets (id) ON DELETE CASCADE,
        release_id  uuid NOT NULL REFERENCES releases (id),
        status      text NOT NULL CHECK (status IN ('running', 'completed', 'superseded')),
        device_ids  text[],
        published   integer NOT NULL DEFAULT 0,
        lease_owner text,
        lease_until timestamptz,
        created_at  timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
      )`);
    await q.query(`CREATE INDEX fleet_target_jobs_running_idx ON fleet_target_jobs (fleet_id) WHERE status = 'running'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE fleet_target_jobs');
  }
}
