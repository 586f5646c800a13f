import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DatabaseModule } from '../database/database.module';
import { RejectedWrites } from '../database/rejected-writes';
import { startPgCutter, type PgCutter } from '../testing/pg-cutter';
import { createTestDatabase, type TestDatabase } from '../testing/test-database';
import { TelemetryIngest } from './telemetry-ingest';
import { partitionTable } from './telemetry-partitions';
import { DEFAULT_TELEMETRY_SETTINGS, type TelemetrySettings } from './telemetry-settings';
import { TelemetryModule } from './telemetry.module';
import { TelemetryRepository } from './telemetry.repository';

/**
 * Integration (real PostgreSQL): the COPY write path. Bad rows fail alone, a connection cut at
 * either side of the commit loses nothing and stores nothing twice (the control plane talks to
 * PostgreSQL through a proxy that cuts at an exact protocol message), a sample sent again is
 * stored once, samples land in their UTC day's partition, and a missing recent partition is
 * created by the writer.
 */
jest.setTimeout(60_000);
const DAY_MS = 86_400_000;
const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
const iso = (ms: number) => new Date(ms).toISOString();
const day = (ms: number) => iso(ms).slice(0, 10);
const ids = Array.from({ length: 100 }, (_, i) => `dev_${String(i).padStart(4, '0')}`);
let db: TestDatabase;
let cutter: PgCutter;
let app: INestApplicationContext;

beforeAll(async () => {
  db = await createTestDatabase();
  cutter = await startPgCutter(db.url);
  @Module({
    imports: [DatabaseModule.forRoot(cutter.url), TelemetryModule.forRoot({ flushMs: 3_600_000, partitionsAheadDays: 2 })],
  })
  class CopyTestModule {}
  app = await NestFactory.createApplicationContext(CopyTestModule, { logger: ['error'] });
  await app.init();
  await db.query(`INSERT INTO devices (id, name, password_hash) SELECT id, id, 'x' FROM unnest($1::text[]) AS id`, [ids]);
});
afterAll(async () => {
  await app?.close();
  await cutter?.close();
  await db?.drop();
});
beforeEach(() => db.query('DELETE FROM telemetry_samples'));

/** A writer of its own per test (no timer: flushed by hand), on the application's repository. */
const writer = (settings: Partial<TelemetrySettings> = {}) =>
  new TelemetryIngest(
    app.get(TelemetryRepository),
    { ...DEFAULT_TELEMETRY_SETTINGS, partitionsAheadDays: 2, ...settings },
    app.get(RejectedWrites),
  );
/** `n` samples a millisecond apart from `fromMs`, devices in turn: each (device, at) once. */
const feed = (ingest: TelemetryIngest, n: number, fromMs = Date.now() - 60_000) => {
  for (let i = 0; i < n; i++)
    ingest.add(ids[i % ids.length]!, {
      schema: 1,
      samples: [{ at: iso(fromMs + i), cpuPercent: 1, memUsedBytes: 1_000, memTotalBytes: 2_000 }],
    });
};
const count = async (sql: string, params: unknown[] = []) => Number((await db.query<{ n: string }>(sql, params))[0]!.n);
const stored = () => count('SELECT count(*) AS n FROM telemetry_samples');
const duplicates = () =>
  count('SELECT count(*) AS n FROM (SELECT device_id, at FROM telemetry_samples GROUP BY device_id, at HAVING count(*) > 1) d');
const perPartition = async () =>
  Object.fromEntries(
    (
      await db.query<{ p: string; n: number }>('SELECT tableoid::regclass::text AS p, count(*)::int AS n FROM telemetry_samples GROUP BY 1')
    ).map((r) => [r.p, r.n]),
  );

describe('telemetry COPY write path (PostgreSQL)', () => {
  it('a batch with a value past bigint and a sample of an unknown device stores all the others, and reports both', async () => {
    const ingest = writer();
    feed(ingest, 1_998);
    // Below the protocol schema, as a bug elsewhere would let through: refused before the COPY.
    ingest.add('dev_0007', { schema: 1, samples: [{ at: iso(Date.now()), cpuPercent: 1, memUsedBytes: 2 ** 64, memTotalBytes: 1 }] });
    // Passes every check but the foreign key: the COPY fails and bisection finds it.
    ingest.add('dev_gone', { schema: 1, samples: [{ at: iso(Date.now()), cpuPercent: 1, memUsedBytes: 1, memTotalBytes: 1 }] });
    await ingest.flush();
    expect(await stored()).toBe(1_998);
    expect(ingest.stats).toMatchObject({ received: 2_000, stored: 1_998, dropped: 2, overflow: 0 });
    expect(app.get(RejectedWrites).snapshot()).toEqual(
      expect.arrayContaining([
        { deviceId: 'dev_0007', kind: 'telemetry', count: 1 },
        { deviceId: 'dev_gone', kind: 'telemetry', count: 1 },
      ]),
    );
    const told = await db.query<{ message: string }>(`SELECT message FROM device_events WHERE device_id = 'dev_0007'`);
    expect(told[0]!.message).toMatch(/memUsedBytes .* out of range for type bigint/);
  });

  it('a connection cut while the COPY streams: the batch is written again, whole, once', async () => {
    const ingest = writer({ maxBatch: 5_000 });
    const cut = cutter.arm('copy-data');
    feed(ingest, 5_000);
    await Promise.all([ingest.flush(), cut]);
    expect(ingest.stats.retries).toBeGreaterThan(0);
    expect(ingest.stats).toMatchObject({ stored: 5_000, dropped: 0 });
    expect(await stored()).toBe(5_000);
    expect(await duplicates()).toBe(0);
  });

  it('a connection cut after the commit, before the reply: the commit is found and nothing is written twice', async () => {
    const ingest = writer({ maxBatch: 5_000 });
    const cut = cutter.arm('copy-reply');
    feed(ingest, 5_000);
    await Promise.all([ingest.flush(), cut]);
    expect(ingest.stats.retries).toBeGreaterThan(0);
    expect(ingest.stats).toMatchObject({ stored: 5_000, dropped: 0, duplicates: 0 });
    expect(await stored()).toBe(5_000);
    expect(await duplicates()).toBe(0);
  });

  // A batch holding a sample stored already fails the straight COPY and goes through the staging table: cut there too.
  it('a batch with a sample stored already, cut after its staging COPY (before the commit): written again, once', async () => {
    const from = Date.now() - 60_000;
    const ingest = writer({ maxBatch: 5_000 });
    feed(ingest, 1, from);
    await ingest.flush();
    const cut = cutter.arm('copy-reply');
    feed(ingest, 5_000, from);
    await Promise.all([ingest.flush(), cut]);
    expect(ingest.stats.retries).toBeGreaterThan(0);
    expect(ingest.stats).toMatchObject({ stored: 5_000, dropped: 0, duplicates: 1 });
    expect(await stored()).toBe(5_000);
  });

  it('a batch with a sample stored already, cut after its commit (before the reply): the commit is found, counted once', async () => {
    const from = Date.now() - 60_000;
    const ingest = writer({ maxBatch: 5_000 });
    feed(ingest, 1, from);
    await ingest.flush();
    // The reply to the statement that moves the staged rows into the table and commits.
    const cut = cutter.arm('statement-reply', 'ON CONFLICT (device_id, at) DO NOTHING');
    feed(ingest, 5_000, from);
    await Promise.all([ingest.flush(), cut]);
    expect(ingest.stats.retries).toBeGreaterThan(0);
    expect(ingest.stats).toMatchObject({ stored: 5_000, dropped: 0, duplicates: 1 });
    expect(await stored()).toBe(5_000);
    expect(await duplicates()).toBe(0);
  });

  // RabbitMQ acknowledges a telemetry message when stored() settles: a replica killed with
  // samples in its buffer must leave their messages unacknowledged.
  it('stored() settles once the samples added so far are in the table, a connection cut in between', async () => {
    const ingest = writer({ maxBatch: 5_000 });
    const from = Date.now() - 60_000;
    feed(ingest, 300, from);
    const inTableWhenSettled = ingest.stored().then(() => stored());
    const cut = cutter.arm('copy-reply');
    feed(ingest, 200, from + 300);
    await Promise.all([ingest.flush(), cut]);
    expect(await inTableWhenSettled).toBeGreaterThanOrEqual(300);
    await expect(ingest.stored()).resolves.toBeUndefined();
    expect(await stored()).toBe(500);
  });

  it('samples either side of midnight (UTC) land in their own day, in one batch', async () => {
    const ingest = writer();
    const midnight = today + DAY_MS;
    for (const at of [today - 1, today, midnight - 1, midnight])
      ingest.add('dev_0001', { schema: 1, samples: [{ at: iso(at), cpuPercent: 1, memUsedBytes: 1, memTotalBytes: 1 }] });
    await ingest.flush();
    const where = await db.query<{ at: Date; p: string }>('SELECT at, tableoid::regclass::text AS p FROM telemetry_samples ORDER BY at');
    expect(where.map((r) => [iso(r.at.getTime()), r.p])).toEqual([
      [iso(today - 1), partitionTable(day(today - DAY_MS))],
      [iso(today), partitionTable(day(today))],
      [iso(midnight - 1), partitionTable(day(today))],
      [iso(midnight), partitionTable(day(midnight))],
    ]);
  });

  it('a missing partition of a day ahead is created by the writer; a sample far off goes to the default partition', async () => {
    const ahead = today + 2 * DAY_MS;
    await db.query(`DROP TABLE ${partitionTable(day(ahead))}`);
    const ingest = writer();
    feed(ingest, 300, ahead + 3_600_000);
    ingest.add('dev_0002', { schema: 1, samples: [{ at: iso(today + 400 * DAY_MS), cpuPercent: 1, memUsedBytes: 1, memTotalBytes: 1 }] });
    await ingest.flush();
    expect(ingest.stats).toMatchObject({ stored: 301, dropped: 0 });
    expect(await perPartition()).toEqual({ [partitionTable(day(ahead))]: 300, telemetry_samples_default: 1 });
  });

  it('a sample sent again is stored once: in a later batch, in the same batch, or in a batch overlapping a stored one', async () => {
    const ingest = writer();
    const base = Date.now() - 30_000;
    const sample = (ms: number, cpuPercent = 1) => ({ at: iso(ms), cpuPercent, memUsedBytes: 1, memTotalBytes: 1 });
    ingest.add('dev_0001', { schema: 1, samples: [sample(base), sample(base + 1)] });
    await ingest.flush();
    // A resend of the first message (written already), and one of a message still buffered: both skipped.
    ingest.add('dev_0001', { schema: 1, samples: [sample(base + 2)] });
    ingest.add('dev_0001', { schema: 1, samples: [sample(base), sample(base + 1)] });
    ingest.add('dev_0001', { schema: 1, samples: [sample(base + 2), sample(base + 3)] });
    // The same times on another device are that device's own samples.
    ingest.add('dev_0002', { schema: 1, samples: [sample(base), sample(base + 1)] });
    await ingest.flush();
    expect(await stored()).toBe(6);
    expect(await duplicates()).toBe(0);
    expect(ingest.stats).toMatchObject({ received: 9, stored: 6, duplicates: 3, dropped: 0 });
    // The copy first stored stays: a resend replaces nothing.
    ingest.add('dev_0001', { schema: 1, samples: [sample(base, 99)] });
    await ingest.flush();
    expect(await db.query('SELECT cpu_percent FROM telemetry_samples WHERE device_id = $1 AND at = $2', ['dev_0001', iso(base)])).toEqual([
      { cpu_percent: 1 },
    ]);
  });

  it('a batch of samples of which some are stored and one is refused stores the others once', async () => {
    const ingest = writer();
    const from = Date.now() - 60_000;
    feed(ingest, 1_000, from);
    await ingest.flush();
    feed(ingest, 2_000, from);
    ingest.add('dev_gone', { schema: 1, samples: [{ at: iso(Date.now()), cpuPercent: 1, memUsedBytes: 1, memTotalBytes: 1 }] });
    await ingest.flush();
    expect(await stored()).toBe(2_000);
    expect(await duplicates()).toBe(0);
    expect(ingest.stats).toMatchObject({ received: 3_001, stored: 2_000, duplicates: 1_000, dropped: 1 });
  });

  it('past maxBuffered waiting samples, new ones are dropped on arrival and counted', async () => {
    const ingest = writer({ maxBuffered: 10 });
    feed(ingest, 15);
    expect(ingest.stats).toMatchObject({ received: 15, overflow: 5 });
    await ingest.flush();
    expect(ingest.stats.stored).toBe(10);
    expect(await stored()).toBe(10);
  });
});
