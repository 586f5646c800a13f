import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A fleet target's assignment in segments (fleets/fleet-target-jobs.ts), each its own transaction,
 * so its first devices are told after a write of 128 rows, not of the whole fleet (one statement
 * for 10,000 devices took 440 ms before the first was told, control-plane/bench/rollout.bench.ts).
 * `device_ids` grows by each segment, in id order (its last device is where the next segment
 * starts); `assigned_all` says the last segment committed. A job assigned before this change was
 * assigned whole.
 */
export class FleetTargetSegments1765270000000 implements MigrationInterface {
  name = 'FleetTargetSegments1765270000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE fleet_target_jobs ADD COLUMN assigned_all boolean NOT NULL DEFAULT false`);
    await q.query(`UPDATE fleet_target_jobs SET assigned_all = true WHERE device_ids IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    // A job part-assigned here would read as assigned whole; the next target supersedes it.
    await q.query(`ALTER TABLE fleet_target_jobs DROP COLUMN assigned_all`);
  }
}
