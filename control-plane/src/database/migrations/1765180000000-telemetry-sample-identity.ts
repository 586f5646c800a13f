import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A telemetry sample is stored once (issue 14): one row per device and `at`, so a sample sent
 * again (a device's MQTT client replaying its unacknowledged QoS 1 publishes after a reconnect,
 * which arrives as a new message; a broker redelivery to another replica; a batch retried after
 * its commit reply was lost) is skipped by the writer's `ON CONFLICT DO NOTHING`.
 *
 * (device_id, at) is a sample's identity: a row holds every metric of one reading, a device takes
 * one reading at a time, and `at` keeps the device's milliseconds (timestamptz holds microseconds),
 * so two real samples never share it; the redelivery check this replaces already relied on it.
 * It includes the partition key, as PostgreSQL requires of a unique index on a partitioned table,
 * and it replaces the non-unique index on the same columns (reads use it the same way, each
 * write maintains one index as before). Day partitions created later get it too: `PARTITION OF`
 * and `ATTACH PARTITION` both create a partitioned table's indexes on the new partition.
 *
 * Existing duplicates are deleted first (the copy with the lowest id is kept; copies are equal
 * but for their id), else the index could not be built. Both steps take the table's rows once;
 * writes wait for them (migrations run in one transaction, `migrate-alone.ts`).
 */
export class TelemetrySampleIdentity1765180000000 implements MigrationInterface {
  name = 'TelemetrySampleIdentity1765180000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      DELETE FROM telemetry_samples t
      USING (
        SELECT id, at FROM (
          SELECT id, at, row_number() OVER (PARTITION BY device_id, at ORDER BY id) AS copy FROM telemetry_samples
        ) numbered WHERE copy > 1
      ) extra
      WHERE t.id = extra.id AND t.at = extra.at`);
    await q.query('DROP INDEX telemetry_samples_device_at_idx');
    await q.query('CREATE UNIQUE INDEX telemetry_samples_device_at_key ON telemetry_samples (device_id, at DESC)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX telemetry_samples_device_at_key');
    await q.query('CREATE INDEX telemetry_samples_device_at_idx ON telemetry_samples (device_id, at DESC)');
  }
}
