import type { DeviceView, FleetView, Page, ReleaseView, RolloutDeviceView, RolloutView } from '@flotilla/shared';
import { startHarness, type Harness } from '../testing/harness';
import { SimDevice, type UpdateBehavior } from '../testing/sim-device';
import { apiClient, json, publishRelease, startSimFleet, until, type Api } from '../testing/sim-fleet';

// Integration, issue 18 item 1, the control plane's side of update locks: a device whose switch
// waits for a lock counts as "waiting", neither failed nor timed out; an operator forces one
// device, or a whole rollout; the fleet's longest deferral reaches the devices in `desired`.
// Real PostgreSQL, real broker over TCP, simulated devices that hold a lock as the agent does.

jest.setTimeout(90_000);

let h: Harness;
let api: Api;
let v1: ReleaseView;
let v2: ReleaseView;
let v3: ReleaseView;
const sims: SimDevice[] = [];

beforeAll(async () => {
  h = await startHarness();
  api = apiClient(() => h.cp.httpUrl, h.cp.apiKey);
  v1 = await publishRelease(api, '1.0.0');
  v2 = await publishRelease(api, '2.0.0', `127.0.0.1:5000/flotilla/busybox@sha256:${'c'.repeat(64)}`);
  v3 = await publishRelease(api, '3.0.0', `127.0.0.1:5000/flotilla/busybox@sha256:${'d'.repeat(64)}`);
});
afterAll(async () => {
  await Promise.all(sims.map((s) => s.stop()));
  await h?.close();
});

async function devicesOnV1(count: number, onLater: (i: number) => UpdateBehavior): Promise<SimDevice[]> {
  const fleet = await startSimFleet(api, h.cp.mqttUrl, count, (i) => ({
    updateMs: 150,
    behavior: (desired) => (desired.release?.id === v1.id ? 'commit' : onLater(i)),
  }));
  sims.push(...fleet);
  for (const d of fleet)
    await json(api(`/api/v1/devices/${d.deviceId}/release`, { method: 'PUT', body: JSON.stringify({ releaseId: v1.id }) }), 200);
  await until(async () => fleet.every((d) => d.activeReleaseId === v1.id), 30_000, 'every device on v1');
  await until(
    async () => {
      const views = await Promise.all(fleet.map((d) => json<DeviceView>(api(`/api/v1/devices/${d.deviceId}`))));
      return views.every((v) => v.reported?.update.phase === 'idle' && v.reported.update.active?.releaseId === v1.id);
    },
    30_000,
    'v1 reported by every device',
  );
  return fleet;
}

const rollout = (id: string) => json<RolloutView>(api(`/api/v1/rollouts/${id}`), 200);
const rolloutDevices = async (id: string) =>
  (await json<Page<RolloutDeviceView>>(api(`/api/v1/rollouts/${id}/devices?limit=500`), 200)).items;

describe('rollouts and update locks', () => {
  it('counts devices waiting for a lock as waiting (not failed, no timeout); a forced device and a released lock both finish', async () => {
    const [locked, forced, hung] = await devicesOnV1(3, (i) => (i === 2 ? 'hang' : 'lock'));
    const created = await json<RolloutView>(
      api('/api/v1/rollouts', {
        method: 'POST',
        body: JSON.stringify({
          releaseId: v2.id,
          selection: { deviceIds: [locked!.deviceId, forced!.deviceId, hung!.deviceId] },
          phases: [{ percent: 100, failureThreshold: 100, successThreshold: 0 }],
          deviceTimeoutSeconds: 1,
        }),
      }),
      201,
    );
    // The barrier: the hung device times out after 1 s. The locked ones, assigned at the same
    // moment, would time out in that same pass if waiting counted against them.
    await until(
      async () => ((await rolloutDevices(created.id)).find((d) => d.deviceId === hung!.deviceId)?.state === 'failed' ? true : undefined),
      30_000,
      'the hung device to time out',
    );
    const view = await rollout(created.id);
    expect(view.totals).toMatchObject({ updating: 2, waiting: 2, failed: 1 });
    const devices = await rolloutDevices(created.id);
    for (const d of [locked!, forced!]) {
      expect(devices.find((x) => x.deviceId === d.deviceId)).toMatchObject({ state: 'updating', waitingFor: 'lock' });
    }

    // The operator forces one device: a new rev of the same desired state, with `force`.
    const forcedView = await json<DeviceView>(api(`/api/v1/devices/${forced!.deviceId}/force-update`, { method: 'POST' }), 200);
    expect(forced!.received.at(-1)).toMatchObject({ rev: forcedView.desired.rev, updatePolicy: { force: true } });
    // The other's component releases its lock.
    locked!.releaseLock();
    const done = await until(
      async () => {
        const r = await rollout(created.id);
        return r.status === 'completed' ? r : undefined;
      },
      30_000,
      'the rollout to complete',
    );
    expect(done.totals).toMatchObject({ succeeded: 2, failed: 1, waiting: 0 });
    expect(locked!.received.at(-1)?.updatePolicy).toBeUndefined();
  });

  it("a rollout created with force overrides its devices' locks; the fleet's longest deferral rides in desired", async () => {
    const [device] = await devicesOnV1(1, () => 'lock');
    const fleet = await json<FleetView>(
      api('/api/v1/fleets', { method: 'POST', body: JSON.stringify({ name: `locks-${Date.now()}` }) }),
      201,
    );
    await json(api(`/api/v1/devices/${device!.deviceId}/fleet`, { method: 'PUT', body: JSON.stringify({ fleetId: fleet.id }) }), 200);
    const policy = await json<FleetView>(
      api(`/api/v1/fleets/${fleet.id}/update-policy`, { method: 'PUT', body: JSON.stringify({ lockMaxDeferSeconds: 3600 }) }),
      200,
    );
    expect(policy.lockMaxDeferSeconds).toBe(3600);
    const bad = await api(`/api/v1/fleets/${fleet.id}/update-policy`, { method: 'PUT', body: JSON.stringify({ lockMaxDeferSeconds: 0 }) });
    expect(bad.status).toBe(400);
    await until(async () => device!.received.at(-1)?.updatePolicy?.lockMaxDeferSeconds === 3600, 10_000, 'the policy in desired');

    const created = await json<RolloutView>(
      api('/api/v1/rollouts', {
        method: 'POST',
        body: JSON.stringify({ releaseId: v3.id, selection: { deviceIds: [device!.deviceId] }, force: true }),
      }),
      201,
    );
    expect(created.force).toBe(true);
    const done = await until(
      async () => {
        const r = await rollout(created.id);
        return r.status === 'completed' ? r : undefined;
      },
      30_000,
      'the forced rollout to complete',
    );
    expect(done.totals).toMatchObject({ succeeded: 1, waiting: 0 });
    expect(device!.received.at(-1)).toMatchObject({ release: { id: v3.id }, updatePolicy: { force: true, lockMaxDeferSeconds: 3600 } });
  });
});
