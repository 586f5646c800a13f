import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { DeviceEvent, Reported } from '@flotilla/shared';
import { Client } from 'pg';
import { DeviceActivityRepository } from '../devices/device-activity.repository';
import { DeviceEventEntity } from '../devices/device-event.entity';
import { DeviceEntity } from '../devices/device.entity';
import { DevicePresenceRepository } from '../devices/device-presence.repository';
import { DeviceReportRepository } from '../devices/device-report.repository';
import { TelemetryIngest } from '../telemetry/telemetry-ingest';
import { TelemetryModule } from '../telemetry/telemetry.module';
import { TelemetryRepository, type SampleRow } from '../telemetry/telemetry.repository';
import { LockingSession } from '../testing/locking-session';
import { createTestDatabase, type TestDatabase } from '../testing/test-database';
import { DatabaseModule } from './database.module';
import { NOT_STORED_EVENT, RejectedWrites } from './rejected-writes';

/**
 * Batches fail alone (issue 13), against a real PostgreSQL: a row the database refuses is dropped
 * on its own (counted per device, told in its events) while the rest of its batch is stored; a
 * transient error is retried; and batches meeting in opposite order no longer deadlock. Bad rows
 * go in below the protocol schema, as a value the schema let through would have.
 */
jest.setTimeout(30_000);
let db: TestDatabase;
let app: INestApplicationContext;
let presence: DevicePresenceRepository;
let reports: DeviceReportRepository;
let activity: DeviceActivityRepository;
let ingest: TelemetryIngest;
let telemetry: TelemetryRepository;
let rejected: RejectedWrites;
const ids = Array.from({ length: 400 }, (_, i) => `dev_${String(i).padStart(4, '0')}`);

beforeAll(async () => {
  db = await createTestDatabase();
  @Module({
    imports: [
      DatabaseModule.forRoot(db.url),
      TypeOrmModule.forFeature([DeviceEntity, DeviceEventEntity]),
      TelemetryModule.forRoot({ flushMs: 3_600_000, maxBatch: 1_000 }),
    ],
    providers: [DevicePresenceRepository, DeviceReportRepository, DeviceActivityRepository, TelemetryRepository],
  })
  class BatchTestModule {}
  app = await NestFactory.createApplicationContext(BatchTestModule, { logger: ['error'] });
  presence = app.get(DevicePresenceRepository);
  reports = app.get(DeviceReportRepository);
  activity = app.get(DeviceActivityRepository);
  ingest = app.get(TelemetryIngest);
  telemetry = app.get(TelemetryRepository);
  rejected = app.get(RejectedWrites);
  await db.query(`INSERT INTO devices (id, name, password_hash) SELECT id, id, 'x' FROM unnest($1::text[]) AS id`, [ids]);
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

const at = '2026-12-01T12:00:00.000Z';
/** A device's sample `offsetMs` after `at`: a device's (device, at) is one sample, stored once. */
const sample = (deviceId: string, offsetMs = 0): SampleRow & { temperatureC: number } => ({
  deviceId,
  at: new Date(Date.parse(at) + offsetMs).toISOString(),
  cpuPercent: 5,
  memUsedBytes: 1_000,
  memTotalBytes: 2_000,
  temperatureC: 40,
});
const event = (message: string, rev = 1): DeviceEvent => ({ schema: 1, at, kind: 'apply-started', rev, message });
const notStoredEvents = (deviceId: string) =>
  db.query<{ message: string }>(`SELECT message FROM device_events WHERE device_id = $1 AND kind = $2`, [deviceId, NOT_STORED_EVENT]);
const count = async (sql: string, params: unknown[] = []) => Number((await db.query<{ n: string }>(sql, params))[0]!.n);

describe('a row the database refuses fails alone', () => {
  it('telemetry: the other 999 samples of the batch are stored', async () => {
    const batch = ids.flatMap((id) => [sample(id, 0), sample(id, 1), sample(id, 2)]).slice(0, 999);
    ingest.add('dev_0007', { schema: 1, samples: [{ at, cpuPercent: 1, memUsedBytes: 2 ** 64, memTotalBytes: 1 }] }); // past bigint
    for (const s of batch) ingest.add(s.deviceId, { schema: 1, samples: [s] });
    await ingest.flush();
    expect(await count(`SELECT count(*) AS n FROM telemetry_samples`)).toBe(999);
    expect(ingest.stats).toMatchObject({ stored: 999, dropped: 1 });
    expect(rejected.snapshot()).toContainEqual({ deviceId: 'dev_0007', kind: 'telemetry', count: 1 });
    expect((await notStoredEvents('dev_0007'))[0]!.message).toMatch(/telemetry message was not stored: .*out of range/);
  });

  it('events: NUL text and an int past 2^31 are dropped, their batch stored', async () => {
    await Promise.all([
      ...ids.slice(0, 100).map((id) => activity.appendEvent(id, event('fine'))),
      activity.appendEvent('dev_0010', event('nul \u0000 here')),
      activity.appendEvent('dev_0011', event('rev past int', 2 ** 31)),
    ]);
    expect(await count(`SELECT count(*) AS n FROM device_events WHERE message = 'fine'`)).toBe(100);
    expect(rejected.snapshot()).toEqual(
      expect.arrayContaining([
        { deviceId: 'dev_0010', kind: 'event', count: 1 },
        { deviceId: 'dev_0011', kind: 'event', count: 1 },
      ]),
    );
    expect(await notStoredEvents('dev_0011')).toHaveLength(1);
  });

  it('reports: one jsonb the column refuses (a lone surrogate) leaves the others stored', async () => {
    const report = (agentVersion: string) => ({ schema: 1, at, agentVersion, rev: 1, components: [] }) as unknown as Reported;
    await Promise.all([
      ...ids.slice(0, 50).map((id) => reports.storeReported(id, report('1.0.0'))),
      reports.storeReported('dev_0020', report('bad \uD800')),
    ]);
    expect(await count(`SELECT count(*) AS n FROM devices WHERE reported->>'agentVersion' = '1.0.0'`)).toBe(49);
    expect(rejected.snapshot()).toContainEqual({ deviceId: 'dev_0020', kind: 'reported', count: 1 });
  });
});

describe('transient errors are retried, never dropped', () => {
  it('a telemetry batch chosen as deadlock victim is written again, whole', async () => {
    await db.query('DELETE FROM telemetry_samples');
    const side = new Client({ connectionString: db.url });
    await side.connect();
    try {
      // The batch's check fires first (1 s), so the batch is the victim, not this session.
      await side.query(`SET deadlock_timeout = '10s'`);
      await side.query('BEGIN');
      await side.query(`SELECT 1 FROM devices WHERE id = 'dev_0300' FOR UPDATE`);
      const before = ingest.stats.retries;
      for (const id of ids) ingest.add(id, { schema: 1, samples: [sample(id)] });
      const flushed = ingest.flush();
      // Wait until the batch holds its share locks up to dev_0300 and waits there, then close the cycle.
      // Only this test's database: the server is shared with every other test file running meanwhile.
      await waitFor(
        async () =>
          (await count(`SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`)) > 0,
      );
      await side.query(`SELECT 1 FROM devices WHERE id = 'dev_0001' FOR UPDATE`);
      await side.query('COMMIT');
      await flushed;
      expect(ingest.stats.retries).toBeGreaterThan(before);
      expect(await count(`SELECT count(*) AS n FROM telemetry_samples`)).toBe(ids.length);
    } finally {
      await side.end();
    }
  });
});

/**
 * Two batches meeting in opposite order, as a telemetry flush (arrival order) and a last-seen
 * flush did: first with the statements as they were (the deadlock happens), then with the
 * repository's (sorted rows, `FOR NO KEY UPDATE` in id order): never. Left to chance, two
 * batches of 400 rows overlap only sometimes, so each round forces the overlap: a third session
 * holds the middle device while both batches lock their way up to it, then lets go.
 */
describe('lock ordering', () => {
  const OLD_TOUCH = `WITH locked AS (SELECT id FROM devices WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE)
    UPDATE devices d SET last_seen_at = now() FROM locked WHERE d.id = locked.id`;
  const OLD_TELEMETRY = `INSERT INTO telemetry_samples (device_id, at, cpu_percent, mem_used_bytes, mem_total_bytes, temperature_c)
    SELECT s.device_id, s.at, 1, 1, 1, 1 FROM unnest($1::text[], $2::timestamptz[]) AS s (device_id, at) JOIN devices d ON d.id = s.device_id`;
  const descending = [...ids].reverse();
  const middle = ids[ids.length / 2]!;
  /** Each round's samples at a time of their own: samples stored already would be skipped, taking no lock. */
  let round = 0;
  const roundAt = () => new Date(Date.parse(at) + ++round).toISOString();

  /**
   * Runs the pair while a third session holds the middle device, waits until both batches are
   * blocked (on it, or on each other), releases it, and counts the deadlocks among the two.
   */
  async function meetInTheMiddle(pair: () => [Promise<unknown>, Promise<unknown>]): Promise<number> {
    const side = await LockingSession.open(db.url);
    try {
      // Longer than the batches' 1 s check, so the side session is never the one cancelled.
      await side.query(`SET deadlock_timeout = '10s'`);
      await side.query('BEGIN');
      await side.query(`SELECT 1 FROM devices WHERE id = $1 FOR UPDATE`, [middle]);
      const settled = Promise.allSettled(pair());
      // Both batches, whatever their statements: blocked on the middle device or on each other.
      await side.waitersOn('', 2, 10_000);
      await side.query('COMMIT');
      let deadlocks = 0;
      for (const r of await settled) {
        if (r.status === 'rejected' && (r.reason as { code?: string }).code === '40P01') deadlocks++;
        else if (r.status === 'rejected') throw r.reason;
      }
      return deadlocks;
    } finally {
      await side.end();
    }
  }

  it('the old statements deadlock', async () => {
    const a = new Client({ connectionString: db.url });
    const b = new Client({ connectionString: db.url });
    await Promise.all([a.connect(), b.connect()]);
    try {
      const deadlocks = await meetInTheMiddle(() => {
        const t = roundAt();
        return [a.query(OLD_TELEMETRY, [descending, descending.map(() => t)]), b.query(OLD_TOUCH, [ids])];
      });
      expect(deadlocks).toBe(1);
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });

  it("the repository's statements do not", async () => {
    // Ids reserved per round, as the writer does per batch, and samples of their own (the same ones again would be skipped, locking nothing).
    const copy = async () => {
      const reserved = await telemetry.reserveIds(descending.length);
      const t = roundAt();
      return telemetry.copyBatch(descending.map((id, i) => ({ ...sample(id), at: t, id: reserved[i]! })));
    };
    const stored = await count(`SELECT count(*) AS n FROM telemetry_samples`);
    expect(await meetInTheMiddle(() => [copy(), presence.touchMany(ids)])).toBe(0);
    expect(
      await meetInTheMiddle(() => [
        activity.insertMany(descending.map((deviceId) => ({ deviceId, event: event('x') }))),
        reports.storeReportedMany(ids.map((id) => ({ id, reported: { schema: 1 } as unknown as Reported }))),
      ]),
    ).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM telemetry_samples`)).toBe(stored + ids.length);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
