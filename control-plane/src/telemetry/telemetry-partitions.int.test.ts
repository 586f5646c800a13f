import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { DatabaseModule, MIGRATIONS } from '../database/database.module';
import { TelemetryPartitions1765020000000 } from '../database/migrations/1765020000000-telemetry-partitions';
import { createTestDatabase, type TestDatabase } from '../testing/test-database';
import { TelemetryIngest } from './telemetry-ingest';
import { TelemetryRetention } from './telemetry-retention';
import { TelemetryModule } from './telemetry.module';

/** Integration (real PostgreSQL): the day partitions of `telemetry_samples`, from the migration to retention. */
jest.setTimeout(30_000);
let db: TestDatabase;
let app: INestApplicationContext;
const DAY_MS = 86_400_000;
const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
const iso = (ms: number) => new Date(ms).toISOString();
const compact = (ms: number) => iso(ms).slice(0, 10).replace(/-/g, '');

const sample = (at: number, memUsedBytes = 1000) => ({ at: iso(at), cpuPercent: 5, memUsedBytes, memTotalBytes: 8000 });
const perPartition = async () =>
  Object.fromEntries(
    (
      await db.query<{ p: string; n: number }>(`SELECT tableoid::regclass::text AS p, count(*)::int AS n FROM telemetry_samples GROUP BY 1`)
    ).map((r) => [r.p, r.n]),
  );

beforeAll(async () => {
  db = await createTestDatabase();
  // The table as it was before the migration, with rows of three days and one from a device clock far in the future.
  const migrate = async (migrations: typeof MIGRATIONS) => {
    const ds = new DataSource({ type: 'postgres', url: db.url, migrations, migrationsTransactionMode: 'all' });
    await ds.initialize();
    await ds.runMigrations();
    await ds.destroy();
  };
  await migrate(MIGRATIONS.slice(0, MIGRATIONS.indexOf(TelemetryPartitions1765020000000)));
  await db.query(`INSERT INTO devices (id, name, password_hash) VALUES ('dev_a', 'dev_a', 'x'), ('dev_b', 'dev_b', 'x')`);
  await db.query(
    `INSERT INTO telemetry_samples (device_id, at, cpu_percent, mem_used_bytes, mem_total_bytes)
     SELECT 'dev_a', $1::timestamptz - make_interval(days => d) + interval '1 hour', 1, 1, 1 FROM generate_series(0, 2) d
     UNION ALL SELECT 'dev_b', '2100-01-02T00:00:00Z', 1, 1, 1`,
    [iso(today)],
  );
  await migrate(MIGRATIONS);
  @Module({
    imports: [
      DatabaseModule.forRoot(db.url),
      TelemetryModule.forRoot({ flushMs: 60_000, maxBatch: 250, retentionDays: 7, partitionsAheadDays: 2, retentionEveryMs: 3_600_000 }),
    ],
  })
  class PartitionTestModule {}
  app = await NestFactory.createApplicationContext(PartitionTestModule, { logger: ['error'] });
  await app.init();
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

describe('telemetry day partitions (PostgreSQL)', () => {
  it('the migration moves every existing row into its day, keeping ids, and the far-off one into the default partition', async () => {
    expect(await db.query(`SELECT to_regclass('telemetry_samples_unpartitioned') AS t`)).toEqual([{ t: null }]);
    expect(await perPartition()).toEqual({
      [`telemetry_samples_p${compact(today)}`]: 1,
      [`telemetry_samples_p${compact(today - DAY_MS)}`]: 1,
      [`telemetry_samples_p${compact(today - 2 * DAY_MS)}`]: 1,
      telemetry_samples_default: 1,
    });
    expect(await db.query(`SELECT array_agg(id ORDER BY id) AS ids FROM telemetry_samples`)).toEqual([{ ids: ['1', '2', '3', '4'] }]);
  });

  it('writes land in their day, and a batch with one row the database refuses stores all the others', async () => {
    const ingest = app.get(TelemetryIngest);
    const before = { ...ingest.stats };
    // 1e20 bytes is past bigint: PostgreSQL refuses that row alone. (dev_a has a sample at today + 1 h already.)
    ingest.add('dev_a', {
      schema: 1,
      samples: [
        sample(today + 3_600_000 + 1),
        sample(today + DAY_MS + 60_000),
        sample(today + 2 * 3_600_000, 1e20),
        sample(today + 2 * DAY_MS + 1),
      ],
    });
    await ingest.flush();
    expect(ingest.stats.stored - before.stored).toBe(3);
    expect(ingest.stats.dropped - before.dropped).toBe(1);
    const counts = await perPartition();
    expect(counts[`telemetry_samples_p${compact(today)}`]).toBe(2);
    expect(counts[`telemetry_samples_p${compact(today + DAY_MS)}`]).toBe(1);
    expect(counts[`telemetry_samples_p${compact(today + 2 * DAY_MS)}`]).toBe(1);
  });

  it('the job creates the days ahead, moving what the default partition caught for a new day into it', async () => {
    const later = today + 5 * DAY_MS;
    await db.query(
      `INSERT INTO telemetry_samples (device_id, at, cpu_percent, mem_used_bytes, mem_total_bytes) VALUES ('dev_b', $1, 1, 1, 1)`,
      [iso(later + 5_000)],
    );
    expect((await perPartition()).telemetry_samples_default).toBe(2);
    // Two days ahead of today + 3 (the migration created up to that day); nothing is past retention yet.
    const run = await app.get(TelemetryRetention).run(new Date(today + 3 * DAY_MS));
    expect(run).toEqual({ created: [iso(later - DAY_MS), iso(later)].map((d) => d.slice(0, 10)), dropped: [], trimmed: 0 });
    const counts = await perPartition();
    expect(counts[`telemetry_samples_p${compact(later)}`]).toBe(1);
    expect(counts.telemetry_samples_default).toBe(1);
    // Idempotent: a second run (another replica's) changes nothing.
    expect((await app.get(TelemetryRetention).run(new Date(today + 3 * DAY_MS))).created).toEqual([]);
  });

  it('retention drops whole days past the period and trims only the default partition row by row', async () => {
    const now = today + 7 * DAY_MS + 3_600_000;
    await db.query(
      `INSERT INTO telemetry_samples (device_id, at, cpu_percent, mem_used_bytes, mem_total_bytes) VALUES ('dev_b', '1970-01-02T00:00:00Z', 1, 1, 1)`,
    );
    const run = await app.get(TelemetryRetention).run(new Date(now));
    // Cutoff = today + 1 h: the days before today ended before it; today did not.
    expect(run.dropped).toEqual([today - 2 * DAY_MS, today - DAY_MS].map((d) => iso(d).slice(0, 10)));
    expect(run.trimmed).toBe(1);
    for (const d of run.dropped)
      expect(await db.query(`SELECT to_regclass($1) AS t`, [`telemetry_samples_p${d.replace(/-/g, '')}`])).toEqual([{ t: null }]);
    const counts = await perPartition();
    expect(counts[`telemetry_samples_p${compact(today)}`]).toBe(2);
    expect(counts.telemetry_samples_default).toBe(1);
  });
});
