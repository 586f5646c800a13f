import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReleaseView, RolloutView } from '@flotilla/shared';
import { startControlPlane, type RunningControlPlane } from '../bootstrap';
import type { SimDevice } from '../testing/sim-device';
import { apiClient, json, publishRelease, startSimFleet, until } from '../testing/sim-fleet';
import { createTestDatabase, type TestDatabase } from '../testing/test-database';

jest.setTimeout(120_000);

const KEY = 'restart-test-operator-key-0123456789';
const DEVICES = 40;

let db: TestDatabase;
let dataDir: string;
let cp: RunningControlPlane | undefined;
let sims: SimDevice[] = [];

function start(mqttPort: number): Promise<RunningControlPlane> {
  return startControlPlane({ host: '127.0.0.1', port: 0, mqttPort, dataDir, databaseUrl: db.url, apiKey: KEY }, { logLevels: ['error'] });
}

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'flotilla-restart-'));
});
afterAll(async () => {
  await Promise.all(sims.map((s) => s.stop()));
  await cp?.close();
  await db?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('rollout across a control-plane restart', () => {
  it('resumes where it was: state comes from PostgreSQL, devices reconnect, phases go on to completion', async () => {
    cp = await start(0);
    const mqttPort = Number(new URL(cp.mqttUrl).port);
    const api = apiClient(() => cp!.httpUrl, KEY);
    const v1: ReleaseView = await publishRelease(api, '1.0.0');
    sims = await startSimFleet(api, cp.mqttUrl, DEVICES, () => ({ updateMs: 1500, reconnectPeriodMs: 200 }));
    const created = await json<RolloutView>(
      api('/api/v1/rollouts', {
        method: 'POST',
        body: JSON.stringify({
          releaseId: v1.id,
          selection: { deviceIds: sims.map((s) => s.deviceId) },
          phases: [{ count: 4 }, { percent: 50 }, { percent: 100 }],
          advance: 'manual',
        }),
      }),
      201,
    );
    const waiting = await until(
      async () => {
        const r = await json<RolloutView>(api(`/api/v1/rollouts/${created.id}`));
        return r.status === 'waiting' ? r : undefined;
      },
      30_000,
      'canary done, waiting for advance',
    );
    expect(waiting.phases[0]!.progress.succeeded).toBe(4);
    await json(api(`/api/v1/rollouts/${created.id}/advance`, { method: 'POST' }), 200);
    // Stop while phase 2 is under way: devices are assigned, none has committed yet (updates take 1.5 s).
    await until(
      async () => (await json<RolloutView>(api(`/api/v1/rollouts/${created.id}`))).phases[1]!.progress.updating > 0,
      5000,
      'phase 2 updating',
    );
    await cp.close();
    cp = undefined;

    cp = await start(mqttPort);
    const after = await json<RolloutView>(api(`/api/v1/rollouts/${created.id}`), 200);
    expect(after.currentPhase).toBe(1);
    expect(after.phases[0]!.progress.succeeded).toBe(4);
    const phase2 = await until(
      async () => {
        const r = await json<RolloutView>(api(`/api/v1/rollouts/${created.id}`));
        return r.status === 'waiting' && r.currentPhase === 1 ? r : undefined;
      },
      40_000,
      'phase 2 done after the restart',
    );
    expect(phase2.phases[1]!.progress).toMatchObject({ succeeded: 16, failed: 0 });
    await json(api(`/api/v1/rollouts/${created.id}/advance`, { method: 'POST' }), 200);
    const done = await until(
      async () => {
        const r = await json<RolloutView>(api(`/api/v1/rollouts/${created.id}`));
        return r.status === 'completed' ? r : undefined;
      },
      40_000,
      'completed',
    );
    expect(done.totals).toEqual({ devices: DEVICES, pending: 0, updating: 0, succeeded: DEVICES, failed: 0, accepted: 0, waiting: 0 });
    expect(sims.every((s) => s.activeReleaseId === v1.id)).toBe(true);
  });
});
