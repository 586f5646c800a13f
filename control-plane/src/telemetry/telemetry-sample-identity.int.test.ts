import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../database/database.module';
import { TelemetrySampleIdentity1765180000000 } from '../database/migrations/1765180000000-telemetry-sample-identity';
import { createTestDatabase, type TestDatabase } from '../testing/test-database';
import { partitionTable } from './telemetry-partitions';
import { TelemetryRepository } from './telemetry.repository';

/**
 * Integration (real PostgreSQL): migration 1765180000000 makes (device, at) a sample's identity.
 * Duplicates stored before it are removed (the first copy kept), and every partition, those the
 * writer or the partition job create later included, refuses a second copy.
 */
jest.setTimeout(30_000);
const DAY_MS = 86_400_000;
const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
const iso = (ms: number) => new Date(ms).toISOString();
let db: TestDatabase;
let ds: DataSource;

beforeAll(async () => {
  db = await createTestDatabase();
  ds = new DataSource({ type: 'postgres', url: db.url, migrations: MIGRATIONS, migrationsTransactionMode: 'all' });
  await ds.initialize();
});
afterAll(async () => {
  await ds?.destroy();
  await db?.drop();
});

const insert = (device: string, at: number, cpu: number) =>
  db.query(
    `INSERT INTO telemetry_samples (device_id, at, cpu_percent, mem_used_bytes, mem_total_bytes) VALUES ($1, $2, $3, 1, 1) RETURNING id`,
    [device, iso(at), cpu],
  );
const partitionsWithoutKey = () =>
  db.query<{ p: string }>(
    `SELECT c.relname AS p FROM pg_partition_tree('telemetry_samples') t JOIN pg_class c ON c.oid = t.relid
     WHERE t.isleaf AND NOT EXISTS (
       SELECT 1 FROM pg_partition_tree('telemetry_samples_device_at_key') i JOIN pg_index x ON x.indexrelid = i.relid
       WHERE x.indrelid = t.relid AND x.indisunique)`,
  );

describe('a telemetry sample stored once per device and time (migration)', () => {
  it('removes the duplicates stored before it, keeping the first copy, and every partition refuses a second one', async () => {
    const before = MIGRATIONS.slice(0, MIGRATIONS.indexOf(TelemetrySampleIdentity1765180000000));
    const dsBefore = new DataSource({ type: 'postgres', url: db.url, migrations: before, migrationsTransactionMode: 'all' });
    await dsBefore.initialize();
    await dsBefore.runMigrations();
    await dsBefore.destroy();
    await db.query(`INSERT INTO devices (id, name, password_hash) VALUES ('dev_a', 'dev_a', 'x'), ('dev_b', 'dev_b', 'x')`);
    // Three copies of one sample today, two of one in the default partition (a device clock far off), and distinct samples around them.
    const [first] = await insert('dev_a', today + 1_000, 1);
    await insert('dev_a', today + 1_000, 2);
    await insert('dev_a', today + 1_000, 3);
    await insert('dev_b', today + 1_000, 4);
    await insert('dev_a', today + 1_001, 5);
    await insert('dev_a', Date.parse('2200-01-01T00:00:00Z'), 6);
    await insert('dev_a', Date.parse('2200-01-01T00:00:00Z'), 7);

    await ds.runMigrations();

    const rows = await db.query<{ device_id: string; at: Date; cpu_percent: number; id: string }>(
      'SELECT device_id, at, cpu_percent, id FROM telemetry_samples ORDER BY cpu_percent',
    );
    expect(rows.map((r) => [r.device_id, r.at.getTime(), r.cpu_percent])).toEqual([
      ['dev_a', today + 1_000, 1],
      ['dev_b', today + 1_000, 4],
      ['dev_a', today + 1_001, 5],
      ['dev_a', Date.parse('2200-01-01T00:00:00Z'), 6],
    ]);
    expect(rows[0]!.id).toBe((first as { id: string }).id);
    await expect(insert('dev_a', today + 1_000, 8)).rejects.toMatchObject({ code: '23505' });
    expect(await partitionsWithoutKey()).toEqual([]);
  });

  it('a day partition created later (by the writer or the partition job) refuses a second copy too', async () => {
    const repo = new TelemetryRepository(ds);
    const later = today + 30 * DAY_MS;
    // The default partition caught one sample of that day before it had its partition; creating it moves the sample in.
    await insert('dev_b', later + 5, 1);
    expect(await repo.createPartition(iso(later).slice(0, 10))).toBe(true);
    expect(await partitionsWithoutKey()).toEqual([]);
    await expect(insert('dev_b', later + 5, 2)).rejects.toMatchObject({ code: '23505' });
    const [{ p }] = await db.query<{ p: string }>(
      `SELECT tableoid::regclass::text AS p FROM telemetry_samples WHERE device_id = 'dev_b' AND at = $1`,
      [iso(later + 5)],
    );
    expect(p).toBe(partitionTable(iso(later).slice(0, 10)));
  });

  it('down restores the index that allowed duplicates', async () => {
    // Migrations added after it come off first, as in a real rollback to before it.
    for (let undone = ''; undone !== new TelemetrySampleIdentity1765180000000().name;) {
      const [last] = await db.query<{ name: string }>('SELECT name FROM migrations ORDER BY timestamp DESC LIMIT 1');
      await ds.undoLastMigration();
      undone = last!.name;
    }
    await insert('dev_b', today + 1_000, 9);
    expect(
      await db.query(`SELECT count(*)::int AS n FROM telemetry_samples WHERE device_id = 'dev_b' AND at = $1`, [iso(today + 1_000)]),
    ).toEqual([{ n: 2 }]);
    expect(await db.query(`SELECT to_regclass('telemetry_samples_device_at_idx') IS NOT NULL AS back`)).toEqual([{ back: true }]);
  });
});
