import { randomUUID } from 'node:crypto';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DatabaseModule } from '../database/database.module';
import { createTestDatabase, type TestDatabase } from '../testing/test-database';
import { countsOf } from './rollout.mapper';
import { RolloutViewRepository } from './rollout-views.repository';
import { RolloutRepository } from './rollout.repository';
import type { RolloutRecord } from './rollout-rows';
import { pendingDevice, type RolloutState } from './rollout-state';

let db: TestDatabase;
let app: INestApplicationContext;
let repo: RolloutRepository;
let views: RolloutViewRepository;
const releaseId = randomUUID();

beforeAll(async () => {
  db = await createTestDatabase();
  @Module({ imports: [DatabaseModule.forRoot(db.url)], providers: [RolloutRepository, RolloutViewRepository] })
  class RepoTestModule {}
  app = await NestFactory.createApplicationContext(RepoTestModule, { logger: ['error'] });
  repo = app.get(RolloutRepository);
  views = app.get(RolloutViewRepository);
  await db.query(
    `INSERT INTO releases (id, name, version, digest, manifest_yaml, assembly) VALUES ($1, 'origin', '1.0.0', 'sha256:x', '', '{}')`,
    [releaseId],
  );
  await db.query(
    `INSERT INTO devices (id, name, password_hash) SELECT 'dev_' || c, c, 'x' FROM unnest(ARRAY['a', 'b', 'c', 'd', 'e']) AS c`,
  );
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

function state(deviceId: string): RolloutState {
  return {
    id: randomUUID(),
    releaseId,
    status: 'running',
    statusReason: null,
    advance: 'auto',
    currentPhase: 0,
    deviceTimeoutMs: 60_000,
    force: false,
    phases: [{ name: 'all', successThreshold: 100, failureThreshold: 0, onFailure: 'pause' }],
    devices: [pendingDevice(deviceId, 0)],
  };
}

function insert(s: RolloutState): Promise<RolloutRecord> {
  return repo.transaction((em) =>
    repo.insert(em, {
      state: s,
      name: 'r',
      selection: { deviceIds: s.devices.map((d) => d.deviceId) },
      requestDigest: 'd',
      createdBy: 'test',
      idempotencyKey: null,
    }),
  );
}

describe('RolloutRepository (PostgreSQL)', () => {
  it('reads a new rollout back as it was created, its devices pending in their phases', async () => {
    const s: RolloutState = { ...state('dev_a'), devices: [pendingDevice('dev_a', 0), pendingDevice('dev_b', 1)] };
    s.phases.push({ name: 'rest', successThreshold: 100, failureThreshold: 0, onFailure: 'pause' });
    const created = await insert(s);
    expect((await repo.load(undefined, s.id))!.state).toEqual(s);
    // What the API answers a creation with, without reading it back.
    expect(created).toEqual(await repo.load(undefined, s.id));
  });

  it('refuses to create a rollout whose device is not pending as created, and writes nothing of it', async () => {
    const s = state('dev_b');
    s.devices[0] = { ...s.devices[0]!, state: 'updating', assignedRev: 2 };
    await expect(insert(s)).rejects.toThrow(`device dev_b of a new rollout is not pending as created`);
    expect(await db.query('SELECT 1 FROM rollouts WHERE id = $1', [s.id])).toEqual([]);
  });

  it("counts a rollout in memory (a creation's answer) as the database counts its rows", async () => {
    const s: RolloutState = { ...state('dev_a'), devices: ['a', 'b', 'c', 'd', 'e'].map((c, i) => pendingDevice(`dev_${c}`, i % 2)) };
    s.phases.push({ name: 'rest', successThreshold: 100, failureThreshold: 0, onFailure: 'pause' });
    await insert(s);
    const [a, b, c, d, e] = s.devices;
    const after: RolloutState = {
      ...s,
      devices: [
        a!,
        { ...b!, state: 'updating', assignedRev: 2, waitingFor: 'lock' },
        // Stale marks: a finished device neither waits nor counts as accepted.
        { ...c!, state: 'succeeded', assignedRev: 2, waitingFor: 'window', acceptedBy: 'op', acceptedAt: 1_700_000_000_000 },
        { ...d!, state: 'failed', assignedRev: 2, reason: 'rolled back', acceptedBy: 'op', acceptedAt: 1_700_000_000_000 },
        { ...e!, state: 'updating', assignedRev: 2 },
      ],
    };
    await repo.transaction((em) => repo.save(em, s, after));
    expect(countsOf(after)).toEqual((await views.countsByPhase([s.id])).get(s.id));
    expect(countsOf(after).get(0)).toEqual({ pending: 1, updating: 1, succeeded: 1, failed: 0, accepted: 0, waiting: 0 });
    expect(countsOf(after).get(1)).toEqual({ pending: 0, updating: 1, succeeded: 0, failed: 1, accepted: 1, waiting: 1 });
  });

  it('saves only what changed and reads it back', async () => {
    const s = state('dev_a');
    await insert(s);
    const loaded = (await repo.load(undefined, s.id))!;
    const after: RolloutState = {
      ...loaded.state,
      status: 'paused',
      statusReason: 'why',
      devices: loaded.state.devices.map((d) => ({
        ...d,
        state: 'failed',
        reason: 'rolled back',
        assignedRev: 3,
        assignedAt: 1_700_000_000_000,
        finishedAt: 1_700_000_001_000,
      })),
    };
    await repo.transaction((em) => repo.save(em, loaded.state, after));
    const again = (await repo.load(undefined, s.id))!;
    expect(again.state).toEqual(after);
    expect((await views.countsByPhase([s.id])).get(s.id)?.get(0)).toEqual({
      pending: 0,
      updating: 0,
      succeeded: 0,
      failed: 1,
      accepted: 0,
      waiting: 0,
    });
  });
});
