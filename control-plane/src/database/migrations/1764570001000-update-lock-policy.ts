import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Update locks (issue 18): what `desired.updatePolicy` carries. `devices.desired_force`: the
 * operator's override of a device's update locks, for its current desired state (set per device,
 * or by a rollout created with `force`; any other release assignment clears it).
 * `fleets.lock_max_defer_seconds`: the longest a lock may defer an update in the fleet.
 * `rollouts.force` and `rollout_devices.waiting_for`: a forced rollout, and a device whose
 * downloaded update waits (for a lock) rather than failing on the rollout's timeout.
 */
export class UpdateLockPolicy1764570001000 implements MigrationInterface {
  name = 'UpdateLockPolicy1764570001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE devices ADD COLUMN desired_force boolean NOT NULL DEFAULT false');
    await q.query('ALTER TABLE fleets ADD COLUMN lock_max_defer_seconds integer');
    await q.query('ALTER TABLE rollouts ADD COLUMN force boolean NOT NULL DEFAULT false');
    await q.query('ALTER TABLE rollout_devices ADD COLUMN waiting_for text');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE rollout_devices DROP COLUMN waiting_for');
    await q.query('ALTER TABLE rollouts DROP COLUMN force');
    await q.query('ALTER TABLE fleets DROP COLUMN lock_max_defer_seconds');
    await q.query('ALTER TABLE devices DROP COLUMN desired_force');
  }
}
