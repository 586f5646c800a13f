import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page, RolloutDeviceView, RolloutPlan, RolloutView } from '@flotilla/shared';
import { startControlPlane, type RunningControlPlane } from '../../control-plane/src/bootstrap';
import { REPO_COMPONENTS_DIR } from '../../control-plane/src/config';
import { DEMO_FAILING_DEVICES, demoSimulation } from '../../cli/src/sim/demo';
import { runSimulation, type Simulation } from '../../cli/src/sim/simulation';
import { createScratchDatabase, type ScratchDatabase } from '../support/database';
import { waitFor } from '../support/wait';

// End to end, issue 18 item 4: the README's "Ship an update through the API", line by line, against
// what `npm start -- --demo` runs (a control plane with the library seeded from components/, and
// the demo's 200 simulated devices over real MQTT, three of which fail their update). The rollout
// pauses in its second phase on those failures; one `resume` accepts them and the rollout completes.

jest.setTimeout(120_000);

const KEY = 'readme-e2e-operator-key-0123456789';
const AUTH = { authorization: `Bearer ${KEY}` };
const README = readFileSync(join(REPO_COMPONENTS_DIR, '..', 'README.md'), 'utf8');

let workDir: string;
let db: ScratchDatabase;
let cp: RunningControlPlane;
let demo: Simulation;
let API: string;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'flotilla-readme-e2e-'));
  db = await createScratchDatabase('e2e_readme');
  cp = await startControlPlane(
    { host: '127.0.0.1', port: 0, mqttPort: 0, databaseUrl: db.url, dataDir: workDir, apiKey: KEY, componentsDir: REPO_COMPONENTS_DIR },
    { logLevels: ['error'] },
  );
  API = `${cp.httpUrl}/api/v1`;
  demo = await runSimulation(demoSimulation({ apiUrl: cp.httpUrl, apiKey: KEY, mqttUrl: cp.mqttUrl }));
});

afterAll(async () => {
  await demo?.stop();
  await cp?.close();
  await db?.drop();
  rmSync(workDir, { recursive: true, force: true });
});

/** `curl -s …` as the README writes it: the body parsed, the status checked. */
async function curl<T>(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<T> {
  const res = await fetch(`${API}${path}`, { ...init, headers: { ...AUTH, ...init.headers } });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

const rollout = (id: string) => curl<RolloutView>(`/rollouts/${id}`);

it('the README sequence as written ends in a completed rollout, with the accepted failures shown', async () => {
  // The README still shows the lines this test follows (a reworded README must update it).
  expect(README).toContain(`-H 'Idempotency-Key: origin-1' --data-binary @assemblies/origin/assembly.yaml $API/releases`);
  expect(README).toContain(`"phases":[{"count":1,"failureThreshold":0,"onFailure":"abort"},{"percent":50},{"percent":100}]}'`);
  expect(README).toContain('curl -s -X POST -H "$AUTH" $API/rollouts/$ROLLOUT/resume');

  const yaml = readFileSync(join(REPO_COMPONENTS_DIR, '..', 'assemblies', 'origin', 'assembly.yaml'), 'utf8');
  const REL = (
    await curl<{ id: string }>('/releases', {
      method: 'POST',
      headers: { 'content-type': 'application/yaml', 'idempotency-key': 'origin-1' },
      body: yaml,
    })
  ).id;
  const FLEET = (await curl<{ id: string }[]>('/fleets'))[0]!.id;
  const SPEC = JSON.stringify({
    releaseId: REL,
    selection: { fleetId: FLEET },
    phases: [{ count: 1, failureThreshold: 0, onFailure: 'abort' }, { percent: 50 }, { percent: 100 }],
  });
  const plan = await curl<RolloutPlan>('/rollouts/plan', { method: 'POST', headers: { 'content-type': 'application/json' }, body: SPEC });
  expect(plan.devices).toHaveLength(200);
  const ROLLOUT = (
    await curl<{ id: string }>('/rollouts', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'demo-1' },
      body: SPEC,
    })
  ).id;

  // "the rollout pauses in its second phase ("1 of 99 devices failed, more than the 0 tolerated")"
  const paused = await waitFor('the rollout to pause', async () => {
    const r = await rollout(ROLLOUT);
    return r.status === 'paused' || r.status === 'aborted' || r.status === 'completed' ? r : undefined;
  });
  expect(paused).toMatchObject({ status: 'paused', currentPhase: 1 });
  expect(paused.statusReason).toMatch(/^phase "50 %": \d of 99 devices failed, more than the 0 tolerated; [^:]+: probation: /);
  // An operator reads who failed once the phase's devices have settled (the demo's three, nobody else).
  await waitFor('the second phase to settle', async () => ((await rollout(ROLLOUT)).phases[1]!.progress.updating === 0 ? true : undefined));
  const failed = await curl<Page<RolloutDeviceView>>(`/rollouts/${ROLLOUT}/devices?state=failed`);
  expect(failed.items).toHaveLength(DEMO_FAILING_DEVICES.length);
  expect(failed.items.every((d) => d.phase === 1 && d.acceptedBy === null && /probation/.test(d.reason ?? ''))).toBe(true);

  const resumed = await curl<RolloutView>(`/rollouts/${ROLLOUT}/resume`, { method: 'POST' });
  expect(resumed.status).toBe('running');
  // Acceptance is explicit: which devices, by whom (the operator key's principal), when.
  expect(resumed.acceptances).toEqual([
    { acceptedBy: 'bootstrap', acceptedAt: expect.any(String), count: 3, deviceIds: failed.items.map((d) => d.deviceId).sort() },
  ]);
  expect(resumed.phases[1]!.progress).toMatchObject({ failed: 3, accepted: 3 });

  const done = await waitFor('the rollout to finish', async () => {
    const r = await rollout(ROLLOUT);
    return r.status === 'running' ? undefined : r;
  });
  expect({ status: done.status, statusReason: done.statusReason }).toEqual({ status: 'completed', statusReason: null });
  expect(done.totals).toEqual({ devices: 200, pending: 0, updating: 0, succeeded: 197, failed: 3, accepted: 3, waiting: 0 });
  const accepted = await curl<Page<RolloutDeviceView>>(`/rollouts/${ROLLOUT}/devices?state=failed`);
  expect(accepted.items.map((d) => [d.acceptedBy, d.acceptedAt])).toEqual(
    failed.items.map(() => ['bootstrap', resumed.acceptances[0]!.acceptedAt]),
  );
});
