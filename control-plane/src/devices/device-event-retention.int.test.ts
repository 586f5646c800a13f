import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DatabaseModule } from '../database/database.module';
import { DEFAULT_DEVICE_LIMITS, DEVICE_LIMITS } from '../limits/device-limits';
import { LimitStats } from '../limits/limit-stats';
import { createTestDatabase, type TestDatabase } from '../testing/test-database';
import { DeviceEventPruningRepository, PRUNE_BEYOND_NEWEST } from './device-event-pruning.repository';
import { DeviceEventRetention } from './device-event-retention';
import { DeviceEventEntity } from './device-event.entity';
import { DeviceEntity } from './device.entity';

/** The per-device event cap and the age retention against a real PostgreSQL. */
let db: TestDatabase;
let app: INestApplicationContext;
let retention: DeviceEventRetention;
let stats: LimitStats;

beforeAll(async () => {
  db = await createTestDatabase();
  @Module({
    imports: [DatabaseModule.forRoot(db.url), TypeOrmModule.forFeature([DeviceEntity, DeviceEventEntity])],
    providers: [
      DeviceEventPruningRepository,
      DeviceEventRetention,
      LimitStats,
      { provide: DEVICE_LIMITS, useValue: { ...DEFAULT_DEVICE_LIMITS, eventsPerDevice: 100, eventRetentionDays: 30 } },
    ],
  })
  class RetentionTestModule {}
  app = await NestFactory.createApplicationContext(RetentionTestModule, { logger: ['error'] });
  retention = app.get(DeviceEventRetention);
  stats = app.get(LimitStats);
  await db.query(
    `INSERT INTO devices (id, name, password_hash, desired_rev) VALUES ('dev_a', 'a', 'x', 0), ('dev_b', 'b', 'x', 0), ('dev_c', 'c', 'x', 0)`,
  );
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

async function count(deviceId: string): Promise<number> {
  return Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM device_events WHERE device_id = $1', [deviceId]))[0]!.n);
}

function seed(deviceId: string, n: number, agoDays = 0): Promise<unknown> {
  return db.query(
    `INSERT INTO device_events (device_id, at, kind, message)
     SELECT $1, now() - make_interval(days => $3) + make_interval(secs => i), 'command', 'event ' || i FROM generate_series(1, $2) i`,
    [deviceId, n, agoDays],
  );
}

it('keeps the newest events of each device that wrote, up to the cap, and counts what it deleted', async () => {
  await seed('dev_a', 250);
  await seed('dev_b', 50);
  // Older rows stored later: the cap goes by the order stored in, which a device clock cannot reorder.
  await db.query(`UPDATE device_events SET at = at - interval '1 day' WHERE device_id = 'dev_a' AND message IN ('event 249', 'event 250')`);
  retention.wrote('dev_a');
  retention.wrote('dev_b');
  expect(await retention.pruneCapped()).toBe(150);
  expect(await count('dev_a')).toBe(100);
  expect(await count('dev_b')).toBe(50);
  const kept = await db.query<{ message: string }>(`SELECT message FROM device_events WHERE device_id = 'dev_a' ORDER BY id LIMIT 1`);
  expect(kept).toEqual([{ message: 'event 151' }]);
  expect(stats.total('eventsPruned', { reason: 'cap' })).toBe(150);
  // Nothing written since: the next pass has nothing to check.
  await seed('dev_b', 100);
  expect(await retention.pruneCapped()).toBe(0);
});

it('deletes events older than the retention', async () => {
  await seed('dev_c', 10, 40);
  await seed('dev_c', 5, 29);
  expect(await retention.pruneAged()).toBe(10);
  expect(await count('dev_c')).toBe(5);
  expect(stats.total('eventsPruned', { reason: 'age' })).toBe(10);
});

it('finds the rows to delete through indexes, not by scanning the table', async () => {
  await db.query(
    `INSERT INTO devices (id, name, password_hash, desired_rev) SELECT 'dev_n' || i, 'n' || i, 'x', 0 FROM generate_series(1, 1000) i`,
  );
  await db.query(
    `INSERT INTO device_events (device_id, at, kind, message)
     SELECT 'dev_n' || (i % 1000 + 1), now() - make_interval(secs => i), 'command', 'e' FROM generate_series(1, 50000) i`,
  );
  await db.query('ANALYZE device_events');
  const plan = await db.query<{ 'QUERY PLAN': string }>(
    `EXPLAIN ${PRUNE_BEYOND_NEWEST.replace('$1::text[]', `ARRAY['dev_n1','dev_n2']::text[]`).replace('$2', '100')}`,
  );
  const text = plan.map((r) => r['QUERY PLAN']).join('\n');
  expect(text).toContain('device_events_device_id_idx');
  expect(text).not.toContain('Seq Scan on device_events');
  const aged = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN DELETE FROM device_events WHERE at < now() - make_interval(days => 30)`);
  expect(aged.map((r) => r['QUERY PLAN']).join('\n')).not.toContain('Seq Scan');
}, 30_000);
