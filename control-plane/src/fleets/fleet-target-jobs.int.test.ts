import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FleetTargetJobView, FleetView, ReleaseView, SetFleetTargetResponse } from '@flotilla/shared';
import { startControlPlane, type RunningControlPlane } from '../bootstrap';
import { LockingSession } from '../testing/locking-session';
import { SimDevice } from '../testing/sim-device';
import { apiClient, json, publishRelease, registerDevices, until } from '../testing/sim-fleet';
import { createTestDatabase, type TestDatabase } from '../testing/test-database';

/** End to end (control plane in-process, real PostgreSQL and MQTT): the fleet target assigned as a background job. */
jest.setTimeout(60_000);

const KEY = 'fleet-target-job-operator-key-0123456789';
const DEVICES = 30;

let db: TestDatabase;
let dataDir: string;
let cp: RunningControlPlane | undefined;
let sims: SimDevice[] = [];
const api = apiClient(() => cp!.httpUrl, KEY);

function start(mqttPort: number): Promise<RunningControlPlane> {
  return startControlPlane({ host: '127.0.0.1', port: 0, mqttPort, dataDir, databaseUrl: db.url, apiKey: KEY }, { logLevels: ['error'] });
}

const jobOf = (id: string) => json<FleetTargetJobView>(api(`/api/v1/fleet-target-jobs/${id}`), 200);
const setTarget = async (fleetId: string, releaseId: string) =>
  json<SetFleetTargetResponse>(api(`/api/v1/fleets/${fleetId}/target`, { method: 'PUT', body: JSON.stringify({ releaseId }) }), 202);
const allHold = (release: ReleaseView) => () => Promise.resolve(sims.every((s) => s.received.at(-1)?.release?.id === release.id));

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'flotilla-fleet-target-'));
  cp = await start(0);
});
afterAll(async () => {
  await Promise.all(sims.map((s) => s.stop()));
  await cp?.close();
  await db?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('fleet target as a background job', () => {
  let fleet: FleetView;

  it('answers 202 with a job at once; the job shows progress and completes; every device gets a verified desired state', async () => {
    const mqttPort = Number(new URL(cp!.mqttUrl).port);
    fleet = await json<FleetView>(api('/api/v1/fleets', { method: 'POST', body: JSON.stringify({ name: 'background' }) }), 201);
    const registered = await registerDevices(api, DEVICES);
    const refused: string[] = [];
    for (const d of registered) {
      await json(api(`/api/v1/devices/${d.deviceId}/fleet`, { method: 'PUT', body: JSON.stringify({ fleetId: fleet.id }) }), 200);
    }
    sims = await Promise.all(
      registered.map((d) =>
        new SimDevice({
          mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
          deviceId: d.deviceId,
          password: d.password,
          releaseKeys: d.releaseKeys,
          reconnectPeriodMs: 200,
          onRefused: (_, reason) => refused.push(reason),
        }).start(),
      ),
    );
    const v1 = await publishRelease(api, '1.0.0');
    const { job, fleet: after } = await setTarget(fleet.id, v1.id);
    expect(after.targetReleaseId).toBe(v1.id);
    expect(job).toMatchObject({ fleetId: fleet.id, releaseId: v1.id, status: 'running', finishedAt: null });
    const done = await until(
      async () => ((await jobOf(job.id)).status === 'completed' ? jobOf(job.id) : undefined),
      30_000,
      'job completed',
    );
    expect(done).toMatchObject({ assigned: DEVICES, published: DEVICES });
    await until(allHold(v1), 30_000, 'every device holds v1');
    expect(refused).toEqual([]);
  });

  it('a job the previous control plane left unfinished resumes after a restart', async () => {
    const v2 = await publishRelease(api, '2.0.0');
    // Hold one device's row, so the job's assignment (which locks the fleet's devices) waits: the control plane stops mid-job.
    const blocker = await LockingSession.open(db.url);
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM devices WHERE id = $1 FOR UPDATE', [sims[0]!.deviceId]);
      const { job } = await setTarget(fleet.id, v2.id);
      // By its statement: a device's presence or report write can wait on the same row, and
      // terminating that one instead would let the assignment through once the row is let go.
      const [assignment] = await blocker.waitersOn('SET desired_release_id = $2, desired_rev', 1, 10_000);
      const closing = cp!.close();
      // The stopping process's assignment ends with its connection (its transaction rolls back);
      // the row is let go at once, since the devices' presence writes at shutdown need it too.
      await blocker.terminate(assignment!);
      await blocker.query('ROLLBACK');
      await closing;
      expect(await db.query(`SELECT status, device_ids, published FROM fleet_target_jobs WHERE id = $1`, [job.id])).toEqual([
        { status: 'running', device_ids: null, published: 0 },
      ]);
      expect(await db.query(`SELECT count(*)::int AS n FROM devices WHERE desired_release_id = $1`, [v2.id])).toEqual([{ n: 0 }]);

      cp = await start(Number(new URL(cp!.mqttUrl).port));
      const done = await until(
        async () => ((await jobOf(job.id)).status === 'completed' ? jobOf(job.id) : undefined),
        30_000,
        'resumed job completed',
      );
      expect(done).toMatchObject({ assigned: DEVICES, published: DEVICES });
      await until(allHold(v2), 30_000, 'every device holds v2 after the restart');
    } finally {
      await blocker.end();
    }
  });

  it('a newer target supersedes a running job; an unknown job is a 404', async () => {
    const v3 = await publishRelease(api, '3.0.0');
    const v4 = await publishRelease(api, '4.0.0');
    const first = await setTarget(fleet.id, v3.id);
    const second = await setTarget(fleet.id, v4.id);
    await until(async () => ((await jobOf(second.job.id)).status === 'completed' ? true : undefined), 30_000, 'second job completed');
    expect(['superseded', 'completed']).toContain((await jobOf(first.job.id)).status);
    await until(allHold(v4), 30_000, 'every device holds the newer target');
    expect((await api(`/api/v1/fleet-target-jobs/${first.fleet.id}`)).status).toBe(404);
  });
});
