import type { DeviceView, Page, RolloutDeviceView, RolloutView } from '@flotilla/shared';
import { startHarness, type Harness } from '../testing/harness';
import { SimDevice } from '../testing/sim-device';
import { apiClient, json, publishRelease, startSimFleet, until, type Api } from '../testing/sim-fleet';

/**
 * Integration (whole control plane, real PostgreSQL, simulated devices over MQTT/TCP): a decision
 * applied in many segments (2, 4, 4, … here; 128 up to 1,024 by default), each committed in its own
 * transaction and fed to one fan-out as it commits, with the desired states its statement returned.
 * Every device is assigned once, receives the signed state of that assignment once, and the
 * rollout records each device once.
 */
jest.setTimeout(90_000);

const DEVICES = 13;
let h: Harness;
let api: Api;
const sims: SimDevice[] = [];

beforeAll(async () => {
  h = await startHarness({ rollouts: { assignSegments: { first: 2, max: 4 } } });
  api = apiClient(() => h.cp.httpUrl, h.cp.apiKey);
});
afterAll(async () => {
  await Promise.all(sims.map((s) => s.stop()));
  await h?.close();
});

it('assigns every device once across segments, and each receives that assignment’s signed state once', async () => {
  const release = await publishRelease(api, '1.0.0');
  sims.push(...(await startSimFleet(api, h.cp.mqttUrl, DEVICES, () => ({ updateMs: 50 }))));
  const before = new Map(
    await Promise.all(
      sims.map(async (d) => [d.deviceId, (await json<DeviceView>(api(`/api/v1/devices/${d.deviceId}`))).desired.rev] as const),
    ),
  );

  const created = await json<RolloutView>(
    api('/api/v1/rollouts', {
      method: 'POST',
      body: JSON.stringify({ releaseId: release.id, selection: { deviceIds: sims.map((d) => d.deviceId) }, phases: [{ percent: 100 }] }),
    }),
    201,
  );
  await until(
    async () => (await json<RolloutView>(api(`/api/v1/rollouts/${created.id}`))).status === 'completed',
    60_000,
    'rollout completed',
  );

  // One fan-out of 13 devices, decided once and written in segments of 2, 4, 4 and 3.
  expect(await h.metric('flotilla_rollout_last_fanout_devices')).toBe(DEVICES);
  const segments = await h.db.query<{ n: number }>(
    `SELECT (SELECT count(*) FROM jsonb_array_elements(actions) a WHERE a->>'kind' = 'assign')::int AS n
       FROM rollout_decisions WHERE rollout_id = $1 AND actions @> '[{"kind": "assign"}]' ORDER BY seq`,
    [created.id],
  );
  expect(segments.map((r) => r.n)).toEqual([2, 4, 4, 3]);

  const recorded = (await json<Page<RolloutDeviceView>>(api(`/api/v1/rollouts/${created.id}/devices?limit=100`))).items;
  expect(recorded.map((d) => d.deviceId).sort()).toEqual(sims.map((d) => d.deviceId).sort());
  for (const sim of sims) {
    const view = await json<DeviceView>(api(`/api/v1/devices/${sim.deviceId}`));
    // Assigned once: one rev bump, the rev the rollout recorded.
    expect(view.desired).toEqual({ rev: before.get(sim.deviceId)! + 1, releaseId: release.id });
    expect(recorded.find((d) => d.deviceId === sim.deviceId)).toMatchObject({ state: 'succeeded', assignedRev: view.desired.rev });
    // Told once, with what that assignment stored (admitted: signature, proof, device id, rev).
    const told = sim.received.filter((d) => d.release?.id === release.id);
    expect(told.map((d) => d.rev)).toEqual([view.desired.rev]);
    expect(sim.activeReleaseId).toBe(release.id);
  }
});
