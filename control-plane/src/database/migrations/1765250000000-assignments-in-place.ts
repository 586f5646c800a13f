import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Drops the index on `devices.desired_release_id`, so that assigning a release rewrites each
 * device's row in place (a HOT update, in the room migration 1765245000000 keeps in its page)
 * instead of adding an entry to each of the table's indexes, the GIN index on tags among them.
 * An index on a column a rollout changes for every device it reaches costs every rollout that
 * much; in a 10,000-device rollout the assignment statements cost PostgreSQL ~115 µs a device
 * with it, on the cores the fan-out needs (control-plane/bench/rollout.bench.ts).
 *
 * What read through it reads the table instead, and none of it is on a device's path: the
 * device list filtered by release (an operator's query, paged) and the foreign key's check when
 * a release is deleted (ON DELETE RESTRICT). A scan of 50,000 device rows takes milliseconds.
 */
export class AssignmentsInPlace1765250000000 implements MigrationInterface {
  name = 'AssignmentsInPlace1765250000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX devices_desired_release_idx');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX devices_desired_release_idx ON devices (desired_release_id)');
  }
}
