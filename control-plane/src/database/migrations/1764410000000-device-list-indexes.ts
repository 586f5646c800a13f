import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `GET /api/v1/devices` at 10,000 devices: the keyset order `(created_at, id)` read straight
 * from an index (no sort of the whole table per page), and name/id prefix search served by
 * `text_pattern_ops` indexes (LIKE 'abc%' uses them whatever the database's collation).
 */
export class DeviceListIndexes1764410000000 implements MigrationInterface {
  name = 'DeviceListIndexes1764410000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX devices_created_id_idx ON devices (created_at, id)');
    await q.query('CREATE INDEX devices_name_prefix_idx ON devices (lower(name) text_pattern_ops)');
    await q.query('CREATE INDEX devices_id_prefix_idx ON devices (id text_pattern_ops)');
    await q.query('CREATE INDEX devices_pinned_release_idx ON devices (pinned_release_id) WHERE pinned_release_id IS NOT NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX devices_pinned_release_idx');
    await q.query('DROP INDEX devices_id_prefix_idx');
    await q.query('DROP INDEX devices_name_prefix_idx');
    await q.query('DROP INDEX devices_created_id_idx');
  }
}
