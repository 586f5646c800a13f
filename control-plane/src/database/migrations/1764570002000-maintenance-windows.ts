import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Maintenance windows (issue 18): weekly schedules (`WindowSchedule` JSON) per fleet and per
 * device; a device's own schedule replaces its fleet's. Null: no restriction.
 */
export class MaintenanceWindows1764570002000 implements MigrationInterface {
  name = 'MaintenanceWindows1764570002000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE fleets ADD COLUMN update_windows jsonb');
    await q.query('ALTER TABLE devices ADD COLUMN update_windows jsonb');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE devices DROP COLUMN update_windows');
    await q.query('ALTER TABLE fleets DROP COLUMN update_windows');
  }
}
