import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Event pruning without scans: the per-device cap finds a device's newest rows by id (its
 * insertion order, which a device cannot forge as it can `at`), and retention deletes by age.
 */
export class DeviceEventPruning1764540000000 implements MigrationInterface {
  name = 'DeviceEventPruning1764540000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX device_events_device_id_idx ON device_events (device_id, id)');
    await q.query('CREATE INDEX device_events_at_idx ON device_events (at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX device_events_at_idx');
    await q.query('DROP INDEX device_events_device_id_idx');
  }
}
