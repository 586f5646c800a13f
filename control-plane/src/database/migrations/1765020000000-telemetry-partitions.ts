import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Days before the migration whose samples get their own partition; older ones (a device clock at 1970) go to the default one. */
const BACKFILL_DAYS = 60;
/** Days created ahead here; the partition job (telemetry-partitions.ts) keeps this many ahead from then on. */
const AHEAD_DAYS = 3;
const DAY_MS = 86_400_000;

/**
 * `telemetry_samples` becomes range-partitioned by UTC day (`telemetry_samples_pYYYYMMDD`, plus
 * `telemetry_samples_default` for samples outside every day), so retention drops a day's table
 * instead of deleting rows one by one. The existing rows are copied inside the migration's
 * transaction: either every row is in the new table, or the old one is untouched. The primary
 * key gains `at` (PostgreSQL requires the partition key in it); ids keep their sequence.
 */
export class TelemetryPartitions1765020000000 implements MigrationInterface {
  name = 'TelemetryPartitions1765020000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE telemetry_samples RENAME TO telemetry_samples_unpartitioned');
    await q.query(
      'ALTER TABLE telemetry_samples_unpartitioned RENAME CONSTRAINT telemetry_samples_pkey TO telemetry_samples_unpartitioned_pkey',
    );
    await q.query('ALTER INDEX telemetry_samples_device_at_idx RENAME TO telemetry_samples_unpartitioned_device_at_idx');
    await q.query('DROP INDEX telemetry_samples_at_idx');
    await q.query(`
      CREATE TABLE telemetry_samples (
        id              bigint NOT NULL DEFAULT nextval('telemetry_samples_id_seq'),
        device_id       text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
        at              timestamptz NOT NULL,
        cpu_percent     double precision NOT NULL,
        mem_used_bytes  bigint NOT NULL,
        mem_total_bytes bigint NOT NULL,
        temperature_c   double precision,
        PRIMARY KEY (id, at)
      ) PARTITION BY RANGE (at)`);
    // The sequence would otherwise go with the old table.
    await q.query('ALTER SEQUENCE telemetry_samples_id_seq OWNED BY telemetry_samples.id');
    await q.query('CREATE INDEX telemetry_samples_device_at_idx ON telemetry_samples (device_id, at DESC)');
    await q.query('CREATE TABLE telemetry_samples_default PARTITION OF telemetry_samples DEFAULT');
    const [{ oldest }] = (await q.query(`SELECT min(at) AS oldest FROM telemetry_samples_unpartitioned`)) as [{ oldest: Date | null }];
    const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    const first = Math.max(today - BACKFILL_DAYS * DAY_MS, oldest ? Math.floor(oldest.getTime() / DAY_MS) * DAY_MS : today);
    for (let day = first; day <= today + AHEAD_DAYS * DAY_MS; day += DAY_MS) {
      const from = new Date(day).toISOString();
      const name = `telemetry_samples_p${from.slice(0, 10).replace(/-/g, '')}`;
      await q.query(
        `CREATE TABLE ${name} PARTITION OF telemetry_samples FOR VALUES FROM ('${from}') TO ('${new Date(day + DAY_MS).toISOString()}')`,
      );
    }
    await q.query(
      `INSERT INTO telemetry_samples (id, device_id, at, cpu_percent, mem_used_bytes, mem_total_bytes, temperature_c)
       SELECT id, device_id, at, cpu_percent, mem_used_bytes, mem_total_bytes, temperature_c FROM telemetry_samples_unpartitioned`,
    );
    await q.query('DROP TABLE telemetry_samples_unpartitioned');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE telemetry_samples RENAME TO telemetry_samples_partitioned');
    await q.query('ALTER INDEX telemetry_samples_device_at_idx RENAME TO telemetry_samples_partitioned_device_at_idx');
    await q.query(`
      CREATE TABLE telemetry_samples (
        id              bigint PRIMARY KEY DEFAULT nextval('telemetry_samples_id_seq'),
        device_id       text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
        at              timestamptz NOT NULL,
        cpu_percent     double precision NOT NULL,
        mem_used_bytes  bigint NOT NULL,
        mem_total_bytes bigint NOT NULL,
        temperature_c   double precision
      )`);
    await q.query('ALTER SEQUENCE telemetry_samples_id_seq OWNED BY telemetry_samples.id');
    await q.query(
      'INSERT INTO telemetry_samples SELECT id, device_id, at, cpu_percent, mem_used_bytes, mem_total_bytes, temperature_c FROM telemetry_samples_partitioned',
    );
    await q.query('DROP TABLE telemetry_samples_partitioned');
    await q.query('CREATE INDEX telemetry_samples_device_at_idx ON telemetry_samples (device_id, at DESC)');
    await q.query('CREATE INDEX telemetry_samples_at_idx ON telemetry_samples (at)');
  }
}
