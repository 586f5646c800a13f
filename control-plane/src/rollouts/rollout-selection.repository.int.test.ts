import { randomUUID } from 'node:crypto';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { DatabaseModule } from '../database/database.module';
import { unitOfWork } from '../database/unit-of-work';
import { createTestDatabase, type TestDatabase } from '../testing/test-database';
import { RolloutSelectionRepository } from './rollout-selection.repository';

/**
 * Real PostgreSQL, migrated: what a rollout pass reads of each device's history. A device's
 * newest rolled-back update is found without visiting the events it keeps beside it (migration
 * 1765250001000): a pass over a fleet costs the same after its hundredth update as after its first.
 */
let db: TestDatabase;
let app: INestApplicationContext;
let selection: RolloutSelectionRepository;

beforeAll(async () => {
  db = await createTestDatabase();
  @Module({ imports: [DatabaseModule.forRoot(db.url)], providers: [RolloutSelectionRepository] })
  class RepoTestModule {}
  app = await NestFactory.createApplicationContext(RepoTestModule, { logger: ['error'] });
  selection = app.get(RolloutSelectionRepository);
}, 60_000);
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

const HISTORY = 2_000;

it("reads a device's newest rolled-back update without reading the rest of its history", async () => {
  await db.query(`INSERT INTO devices (id, name, password_hash) VALUES ('dev_a', 'a', 'x'), ('dev_b', 'b', 'x')`);
  // Both went through many updates; dev_a rolled two of them back, dev_b none.
  await db.query(
    `INSERT INTO device_events (device_id, event_id, at, kind, rev, message)
     SELECT d, gen_random_uuid(), now(), 'update-committed', n, 'committed' FROM unnest(ARRAY['dev_a', 'dev_b']) AS d, generate_series(1, $1) AS n`,
    [HISTORY],
  );
  await db.query(
    `INSERT INTO device_events (device_id, event_id, at, kind, rev, message)
     VALUES ('dev_a', $1, now(), 'update-rolled-back', 7, 'probation: web unhealthy'),
            ('dev_a', $2, now(), 'update-rolled-back', 12, 'probation: api unhealthy')`,
    [randomUUID(), randomUUID()],
  );
  await db.query('ANALYZE device_events');

  const { reports, visited } = await app.get(DataSource).transaction(async (em) => {
    const reports = await selection.loadReports(unitOfWork(em), randomUUID(), { deviceIds: ['dev_a', 'dev_b'] });
    // Exact within the reading transaction: rows of device_events a scan returned or an index led to.
    const [row] = (await em.query(
      `SELECT (pg_stat_get_xact_tuples_returned('device_events'::regclass)
             + pg_stat_get_xact_tuples_fetched('device_events'::regclass))::int AS visited`,
    )) as { visited: number }[];
    return { reports, visited: row!.visited };
  });

  expect(reports.get('dev_a')).toMatchObject({ rolledBackRev: 12, rolledBackReason: 'probation: api unhealthy' });
  expect(reports.get('dev_b')).toMatchObject({ rolledBackRev: null, rolledBackReason: null });
  // The newest rolled-back event of dev_a, and nothing of the 4,000 others.
  expect(visited).toBeLessThanOrEqual(2);
}, 60_000);
