import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PROTOCOL_SCHEMA, type Reported } from '@flotilla/shared';
import { DatabaseModule } from '../database/database.module';
import { createTestDatabase, type TestDatabase } from '../testing/test-database';
import { unitOfWork } from '../database/unit-of-work';
import { DeviceEntity } from './device.entity';
import { DeviceAssignmentRepository } from './device-assignment.repository';
import { DeviceReportRepository } from './device-report.repository';

/**
 * Real PostgreSQL, migrated: a fleet's reports during an update rewrite each device's row in
 * place (HOT: the new version on the row's own page, no new index entry), because `devices`
 * keeps room in its pages (migration 1765245000000). With full pages (fillfactor 100) a device's
 * next report moved its row to another page, with a new entry in each of the table's indexes.
 * A row's page is the block number of its `ctid`. A rollout's assignment is in place too, as no
 * index covers the columns it changes (migration 1765250000000).
 */
let db: TestDatabase;
let app: INestApplicationContext;
let reports: DeviceReportRepository;
let assignments: DeviceAssignmentRepository;

beforeAll(async () => {
  db = await createTestDatabase();
  @Module({
    imports: [DatabaseModule.forRoot(db.url), TypeOrmModule.forFeature([DeviceEntity])],
    providers: [DeviceReportRepository, DeviceAssignmentRepository],
  })
  class RepoTestModule {}
  app = await NestFactory.createApplicationContext(RepoTestModule, { logger: ['error'] });
  reports = app.get(DeviceReportRepository);
  assignments = app.get(DeviceAssignmentRepository);
}, 60_000);
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

const DEVICES = 60;
const ids = Array.from({ length: DEVICES }, (_, i) => `dev_${String(i).padStart(3, '0')}`);

/** About as large as a simulated device's report (a devices row of ~1 KB, as in the rollout bench). */
const report = (phase: 'idle' | 'fetch' | 'probation', at: Date): Reported => ({
  schema: PROTOCOL_SCHEMA,
  at: at.toISOString(),
  agentVersion: '0.1.0',
  rev: 2,
  update: { phase, active: null, candidate: null, failedRev: null, lastFailure: null },
  components: ['web', 'api', 'worker', 'printer', 'metrics', 'proxy'].map((name) => ({
    name,
    image: `registry.example/${name}@sha256:${'0'.repeat(64)}`,
    state: 'running' as const,
    health: 'healthy' as const,
  })),
});

async function pages(): Promise<Map<string, string>> {
  const rows = await db.query<{ id: string; page: string }>(
    `SELECT id, split_part(trim(both '()' from ctid::text), ',', 1) AS page FROM devices`,
  );
  return new Map(rows.map((r) => [r.id, r.page]));
}

it('keeps every device row on its page when the fleet reports the update it starts', async () => {
  // Registered and reporting, as a connected fleet is when a rollout starts.
  await db.query(
    `INSERT INTO devices (id, name, password_hash, desired_rev, reported, reported_at)
     SELECT id, id, 'x', 1, $2::jsonb, now() FROM unnest($1::text[]) AS id`,
    [ids, JSON.stringify(report('idle', new Date(Date.now() - 1000)))],
  );
  const before = await pages();
  expect(new Set(before.values()).size).toBeGreaterThan(1);

  // Each device's next report (a new version of every row): free space on its page is enough,
  // whatever PostgreSQL has pruned yet. The reports after it reuse the room that pruning the
  // previous versions frees, which PostgreSQL does when it can (not asserted: it depends on
  // every snapshot open in the database).
  await reports.storeReportedMany(ids.map((id) => ({ id, reported: report('fetch', new Date()) })));

  const stored = await db.query<{ phase: string }>(`SELECT DISTINCT reported->'update'->>'phase' AS phase FROM devices`);
  expect(stored).toEqual([{ phase: 'fetch' }]);
  const after = await pages();
  expect(ids.filter((id) => before.get(id) !== after.get(id))).toEqual([]);
}, 30_000);

it('assigns a release to every device of a rollout in place, adding no index entry', async () => {
  const releaseId = '00000000-0000-4000-8000-0000000000a1';
  await db.query(
    `INSERT INTO releases (id, name, version, digest, manifest_yaml, assembly) VALUES ($1, 'origin', '2.0.0', 'sha256:x', '', '{}')`,
    [releaseId],
  );
  const dataSource = app.get(DataSource);
  // Counted inside the statement's own transaction: PostgreSQL's per-transaction counters are exact
  // there, where its cumulative statistics are flushed later.
  const counts = await dataSource.transaction(async (em) => {
    const assigned = await assignments.assignReleaseToMany(unitOfWork(em), ids, releaseId);
    const [row] = (await em.query(
      `SELECT pg_stat_get_xact_tuples_updated('devices'::regclass)::int AS updated,
              pg_stat_get_xact_tuples_hot_updated('devices'::regclass)::int AS hot`,
    )) as { updated: number; hot: number }[];
    return { assigned: assigned.size, updated: row!.updated, notInPlace: row!.updated - row!.hot };
  });
  // With the index on desired_release_id, every row's new version had an entry in each index.
  expect(counts).toEqual({ assigned: DEVICES, updated: expect.any(Number), notInPlace: 0 });
  expect(counts.updated).toBeGreaterThanOrEqual(DEVICES);
}, 30_000);
