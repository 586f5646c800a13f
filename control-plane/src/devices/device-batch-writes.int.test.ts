import { randomUUID } from 'node:crypto';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { DeviceEvent, Reported } from '@flotilla/shared';
import { DataSource } from 'typeorm';
import { DatabaseModule } from '../database/database.module';
import { unitOfWork } from '../database/unit-of-work';
import { createTestDatabase, type TestDatabase } from '../testing/test-database';
import { DeviceActivityRepository } from './device-activity.repository';
import { DeviceEventEntity } from './device-event.entity';
import { DeviceEntity } from './device.entity';
import { DeviceAssignmentRepository } from './device-assignment.repository';
import { DeviceRecordRepository } from './device-record.repository';
import { DeviceReportRepository } from './device-report.repository';

/**
 * The devices' batch writes against a real PostgreSQL: `assignReleaseToMany`, the one statement
 * behind a rollout decision's assignments, and the coalesced `storeReported` and `appendEvent`.
 */
let db: TestDatabase;
let app: INestApplicationContext;
let assignments: DeviceAssignmentRepository;
let records: DeviceRecordRepository;
let reports: DeviceReportRepository;
let activity: DeviceActivityRepository;
let dataSource: DataSource;
const oldRelease = randomUUID();
const newRelease = randomUUID();

beforeAll(async () => {
  db = await createTestDatabase();
  @Module({
    imports: [DatabaseModule.forRoot(db.url), TypeOrmModule.forFeature([DeviceEntity, DeviceEventEntity])],
    providers: [DeviceAssignmentRepository, DeviceRecordRepository, DeviceReportRepository, DeviceActivityRepository],
  })
  class RepoTestModule {}
  app = await NestFactory.createApplicationContext(RepoTestModule, { logger: ['error'] });
  assignments = app.get(DeviceAssignmentRepository);
  records = app.get(DeviceRecordRepository);
  reports = app.get(DeviceReportRepository);
  activity = app.get(DeviceActivityRepository);
  dataSource = app.get(DataSource);
  await db.query(
    `INSERT INTO releases (id, name, version, digest, manifest_yaml, assembly)
     VALUES ($1, 'origin', '1.0.0', 'sha256:a', '', '{}'), ($2, 'origin', '2.0.0', 'sha256:b', '', '{}')`,
    [oldRelease, newRelease],
  );
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

beforeEach(async () => {
  await db.query('DELETE FROM devices');
  await db.query(
    `INSERT INTO devices (id, name, password_hash, desired_release_id, desired_rev, decommissioned_at) VALUES
       ('dev_a', 'a', 'x', $1, 4, NULL), ('dev_b', 'b', 'x', NULL, 0, NULL), ('dev_c', 'c', 'x', $1, 9, NULL),
       ('dev_gone', 'gone', 'revoked', $1, 2, now())`,
    [oldRelease],
  );
});

async function desired(): Promise<Record<string, [string | null, number]>> {
  const rows = await db.query<{ id: string; desired_release_id: string | null; desired_rev: number }>(
    'SELECT id, desired_release_id, desired_rev FROM devices ORDER BY id',
  );
  return Object.fromEntries(rows.map((r) => [r.id, [r.desired_release_id, r.desired_rev]]));
}

describe('DeviceAssignmentRepository.assignReleaseToMany', () => {
  it('points every device at the release and bumps each one’s own rev, returning the new revs', async () => {
    const states = await dataSource.transaction((tx) =>
      assignments.assignReleaseToMany(unitOfWork(tx), ['dev_a', 'dev_b', 'dev_c'], newRelease),
    );
    expect(new Map([...states].map(([id, s]) => [id, [s.desiredReleaseId, s.desiredRev]]))).toEqual(
      new Map([
        ['dev_a', [newRelease, 5]],
        ['dev_b', [newRelease, 1]],
        ['dev_c', [newRelease, 10]],
      ]),
    );
    expect(await desired()).toEqual({
      dev_a: [newRelease, 5],
      dev_b: [newRelease, 1],
      dev_c: [newRelease, 10],
      dev_gone: [oldRelease, 2],
    });
  });

  it('leaves unknown and decommissioned devices out of the result and untouched, as assignRelease refuses them', async () => {
    const revs = await dataSource.transaction((tx) =>
      assignments.assignReleaseToMany(unitOfWork(tx), ['dev_a', 'dev_gone', 'dev_nobody'], newRelease),
    );
    expect([...revs.keys()]).toEqual(['dev_a']);
    expect((await desired()).dev_gone).toEqual([oldRelease, 2]);
  });

  it('assigns nothing when the caller’s transaction rolls back (a rollout whose state could not be saved)', async () => {
    await expect(
      dataSource.transaction(async (tx) => {
        await assignments.assignReleaseToMany(unitOfWork(tx), ['dev_a', 'dev_b'], newRelease);
        throw new Error('saving the rollout failed');
      }),
    ).rejects.toThrow('saving the rollout failed');
    expect(await desired()).toMatchObject({ dev_a: [oldRelease, 4], dev_b: [null, 0] });
  });

  it('answers an empty list with an empty map', async () => {
    await expect(dataSource.transaction((tx) => assignments.assignReleaseToMany(unitOfWork(tx), [], newRelease))).resolves.toEqual(
      new Map(),
    );
  });

  it('assigns 10,000 devices in one statement', async () => {
    await db.query(
      `INSERT INTO devices (id, name, password_hash, desired_rev) SELECT 'dev_n' || i, 'n' || i, 'x', 0 FROM generate_series(1, 10000) i`,
    );
    const ids = Array.from({ length: 10_000 }, (_, i) => `dev_n${i + 1}`);
    const states = await dataSource.transaction((tx) => assignments.assignReleaseToMany(unitOfWork(tx), ids, newRelease));
    expect(states.size).toBe(10_000);
    expect([...states.values()].every((s) => s.desiredRev === 1)).toBe(true);
  });

  it('returns each desired state as reading it back after the commit gives it: fleet, configuration, windows, rollback, force', async () => {
    const fleet = randomUUID();
    const ownWindows = [{ days: ['sat'], start: '22:00', durationMinutes: 60 }];
    await db.query(
      `INSERT INTO fleets (id, name, config, update_windows, lock_max_defer_seconds) VALUES ($1, 'f', '{"SITE":"north","LOG":"info"}', $2, 600)`,
      [fleet, JSON.stringify([{ days: ['mon'], start: '01:00', durationMinutes: 120 }])],
    );
    await db.query(
      `UPDATE devices SET fleet_id = $1, config = '{"LOG":"debug"}', registered_by_admin = true,
         update_windows = CASE WHEN id = 'dev_c' THEN $2::jsonb END WHERE id IN ('dev_a', 'dev_c')`,
      [fleet, JSON.stringify(ownWindows)],
    );
    await db.query(`UPDATE releases SET created_at = now() - interval '1 day' WHERE id = $1`, [oldRelease]);
    // dev_a had the newer release before: going back to the older one is a rollback.
    await dataSource.transaction((tx) => assignments.assignReleaseToMany(unitOfWork(tx), ['dev_a'], newRelease));
    const ids = ['dev_a', 'dev_b', 'dev_c'];
    const returned = await dataSource.transaction((tx) => assignments.assignReleaseToMany(unitOfWork(tx), ids, oldRelease, true));
    const readBack = await records.findDesiredStates(ids);
    expect(readBack).toHaveLength(3);
    for (const state of readBack) expect(returned.get(state.deviceId)).toEqual(state);
    expect(returned.get('dev_a')).toMatchObject({ rollback: true, force: true, fleetConfig: { SITE: 'north' }, lockMaxDeferSeconds: 600 });
    expect(returned.get('dev_c')?.windows).toEqual(ownWindows);
  });
});

describe('the rollback flag (newest_release_at) through every kind of assignment', () => {
  let fleet: string;
  beforeEach(async () => {
    await db.query(`UPDATE releases SET created_at = CASE WHEN id = $1 THEN now() - interval '1 day' ELSE now() END`, [oldRelease]);
    fleet = randomUUID();
    await db.query(`INSERT INTO fleets (id, name) VALUES ($1, $2)`, [fleet, `f-${fleet}`]);
    await db.query(`UPDATE devices SET fleet_id = $1 WHERE id = 'dev_b'`, [fleet]);
  });
  const rollback = async (): Promise<boolean> => (await records.findDesiredStates(['dev_b']))[0]!.rollback;
  const ways: Record<string, (release: string) => Promise<unknown>> = {
    // Raised by the statement itself, read once for all its rows (migration 1765260000000).
    assignReleaseToMany: (release) => dataSource.transaction((tx) => assignments.assignReleaseToMany(unitOfWork(tx), ['dev_b'], release)),
    assignFleetTargetSegment: (release) =>
      dataSource.transaction((tx) => assignments.assignFleetTargetSegment(unitOfWork(tx), fleet, release, null, 100)),
    // Kept by the row trigger.
    assignRelease: (release) => dataSource.transaction((tx) => assignments.assignRelease(unitOfWork(tx), 'dev_b', release)),
  };

  it.each(Object.keys(ways))('%s: forward is no rollback, back to an older release is one, forward again is none', async (way) => {
    const assign = ways[way]!;
    await assign(oldRelease);
    expect(await rollback()).toBe(false);
    await assign(newRelease);
    expect(await rollback()).toBe(false);
    await assign(oldRelease);
    expect(await rollback()).toBe(true);
    await assign(newRelease);
    expect(await rollback()).toBe(false);
  });
});

describe('DeviceReportRepository.storeReported', () => {
  const report = (rev: number, phase: 'fetch' | 'idle', at = '2026-11-27T15:00:00.000Z'): Reported => ({
    schema: 1,
    at,
    agentVersion: 'test',
    rev,
    update: { phase, active: null, candidate: null, failedRev: null, lastFailure: null },
    components: [],
  });

  it('stores reports that arrive together in few statements, each device ending with its latest', async () => {
    await Promise.all([
      reports.storeReported('dev_a', report(1, 'fetch')),
      reports.storeReported('dev_b', report(1, 'fetch')),
      reports.storeReported('dev_a', report(2, 'fetch')),
      reports.storeReported('dev_a', report(2, 'idle')),
    ]);
    const rows = await db.query<{ id: string; reported: Reported | null; reported_at: Date | null; last_seen_at: Date | null }>(
      `SELECT id, reported, reported_at, last_seen_at FROM devices WHERE id IN ('dev_a', 'dev_b', 'dev_c') ORDER BY id`,
    );
    expect(rows.map((r) => [r.id, r.reported?.rev ?? null, r.reported?.update.phase ?? null])).toEqual([
      ['dev_a', 2, 'idle'],
      ['dev_b', 1, 'fetch'],
      ['dev_c', null, null],
    ]);
    expect(rows[0]!.reported).toEqual(report(2, 'idle'));
    expect(rows[0]!.reported_at).toBeInstanceOf(Date);
    expect(rows[0]!.last_seen_at).toBeInstanceOf(Date);
  });

  // A replica killed before acknowledging a report leaves it to RabbitMQ, which redelivers it to
  // another replica after the device's next report may already be stored.
  it('keeps the later report when an earlier one of the device arrives after it', async () => {
    await reports.storeReported('dev_a', report(1, 'idle', '2026-11-27T15:00:02.000Z'));
    await reports.storeReported('dev_a', report(1, 'fetch', '2026-11-27T15:00:01.000Z'));
    await reports.storeReported('dev_b', report(1, 'fetch', '2026-11-27T15:00:01.000Z'));
    await reports.storeReported('dev_b', report(1, 'idle', '2026-11-27T15:00:02.000Z'));
    const rows = await db.query<{ id: string; reported: Reported }>(
      `SELECT id, reported FROM devices WHERE id IN ('dev_a', 'dev_b') ORDER BY id`,
    );
    expect(rows.map((r) => [r.id, r.reported.update.phase, r.reported.at])).toEqual([
      ['dev_a', 'idle', '2026-11-27T15:00:02.000Z'],
      ['dev_b', 'idle', '2026-11-27T15:00:02.000Z'],
    ]);
  });

  it('takes any report once the stored one is dated ahead of the server (the device clock was set back)', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    await reports.storeReported('dev_a', report(1, 'fetch', future));
    await reports.storeReported('dev_a', report(1, 'idle', '2026-11-27T15:00:01.000Z'));
    const [row] = await db.query<{ reported: Reported }>(`SELECT reported FROM devices WHERE id = 'dev_a'`);
    expect(row!.reported.update.phase).toBe('idle');
  });
});

describe('DeviceActivityRepository.appendEvent', () => {
  const event = (rev: number, message: string): DeviceEvent => ({
    schema: 1,
    at: '2026-11-27T15:00:00.000Z',
    kind: 'update-committed',
    rev,
    message,
  });

  it('stores events that arrive together in the order received per device; one of an unknown device does not fail the others', async () => {
    await Promise.all([
      activity.appendEvent('dev_a', event(1, 'first')),
      activity.appendEvent('dev_nobody', event(1, 'lost')),
      activity.appendEvent('dev_b', event(1, 'other')),
      activity.appendEvent('dev_a', event(2, 'second')),
    ]);
    const rows = await db.query<{ device_id: string; rev: number; message: string }>(
      `SELECT device_id, rev, message FROM device_events ORDER BY device_id, id`,
    );
    // In id order within a device; across devices the batch goes in device-id order (lock ordering).
    expect(rows.map((r) => [r.device_id, r.rev, r.message])).toEqual([
      ['dev_a', 1, 'first'],
      ['dev_a', 2, 'second'],
      ['dev_b', 1, 'other'],
    ]);
  });
});
