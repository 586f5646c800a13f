import {
  nextWindow,
  type DeviceView,
  type FleetView,
  type Page,
  type RolloutDeviceView,
  type RolloutPlan,
  type RolloutView,
  type WindowSchedule,
} from '@flotilla/shared';
import { startHarness, type Harness } from '../testing/harness';
import { SimDevice } from '../testing/sim-device';
import { apiClient, json, publishRelease, startSimFleet, until, type Api } from '../testing/sim-fleet';

// Integration, issue 18 item 2 (the control plane's part): maintenance windows per fleet and per
// device reach the devices in `desired.updatePolicy.windows`, and the dry-run plan shows each
// device's next window in the time zone its inventory reports. Real PostgreSQL and broker.

jest.setTimeout(60_000);

let h: Harness;
let api: Api;
const sims: SimDevice[] = [];

beforeAll(async () => {
  h = await startHarness();
  api = apiClient(() => h.cp.httpUrl, h.cp.apiKey);
});
afterAll(async () => {
  await Promise.all(sims.map((s) => s.stop()));
  await h?.close();
});

const nights: WindowSchedule = [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '02:00', durationMinutes: 120 }];
const sunday: WindowSchedule = [{ days: ['sun'], start: '10:00', durationMinutes: 30 }];

it('fleet windows, a device override, and the plan showing each device its next window in its own zone', async () => {
  const zones = ['Asia/Tokyo', 'America/New_York'];
  const devices = await startSimFleet(api, h.cp.mqttUrl, 2, (i) => ({ inventory: true, timeZone: zones[i]! }));
  sims.push(...devices);
  const fleet = await json<FleetView>(
    api('/api/v1/fleets', { method: 'POST', body: JSON.stringify({ name: `windows-${Date.now()}` }) }),
    201,
  );
  for (const d of devices)
    await json(api(`/api/v1/devices/${d.deviceId}/fleet`, { method: 'PUT', body: JSON.stringify({ fleetId: fleet.id }) }), 200);
  const set = await json<FleetView>(
    api(`/api/v1/fleets/${fleet.id}/update-policy`, {
      method: 'PUT',
      body: JSON.stringify({ lockMaxDeferSeconds: null, windows: nights }),
    }),
    200,
  );
  expect(set.windows).toEqual(nights);
  const bad = await api(`/api/v1/fleets/${fleet.id}/update-policy`, {
    method: 'PUT',
    body: JSON.stringify({ lockMaxDeferSeconds: null, windows: [{ days: ['mon'], start: '25:00', durationMinutes: 60 }] }),
  });
  expect(bad.status).toBe(400);
  // The second device gets its own windows, replacing the fleet's.
  await json<DeviceView>(
    api(`/api/v1/devices/${devices[1]!.deviceId}/update-windows`, { method: 'PUT', body: JSON.stringify({ windows: sunday }) }),
    200,
  );
  await until(async () => devices[0]!.received.at(-1)?.updatePolicy?.windows?.[0]?.start === '02:00', 10_000, 'fleet windows in desired');
  await until(async () => devices[1]!.received.at(-1)?.updatePolicy?.windows?.[0]?.start === '10:00', 10_000, 'device windows in desired');
  await until(
    async () =>
      (
        await h.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM devices WHERE inventory->>'timeZone' IS NOT NULL AND fleet_id = $1",
          [fleet.id],
        )
      )[0]!.n === 2,
    10_000,
    'both inventories',
  );

  const release = await publishRelease(api, '1.0.0');
  const before = Date.now();
  const plan = await json<RolloutPlan>(
    api('/api/v1/rollouts/plan', { method: 'POST', body: JSON.stringify({ releaseId: release.id, selection: { fleetId: fleet.id } }) }),
    200,
  );
  for (const [i, schedule] of [nights, sunday].entries()) {
    const shown = plan.devices.find((d) => d.deviceId === devices[i]!.deviceId)!.nextWindow!;
    expect(shown.timeZone).toBe(zones[i]);
    // The same pure function the agent decides with, at the time of the request.
    const expected = nextWindow(schedule, zones[i]!, before)!;
    expect(Date.parse(shown.closesAt)).toBe(expected.closesAt);
    if (!expected.open) expect(Date.parse(shown.opensAt!)).toBe(expected.opensAt);
  }
});

it('a rollout switches each device only inside its own window (simulated device clocks); the late one waits, then completes', async () => {
  // Friday 4 December 2026, 17:30 UTC: 02:30 on Saturday in Tokyo (inside its nightly window),
  // 12:30 in New York (its window opens at 02:00 local = 07:00 UTC on Saturday).
  let simNow = Date.parse('2026-12-04T17:30:00Z');
  const everyNight: WindowSchedule = [{ days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], start: '02:00', durationMinutes: 120 }];
  const zones = ['Asia/Tokyo', 'America/New_York'];
  const devices = await startSimFleet(api, h.cp.mqttUrl, 2, (i) => ({
    inventory: true,
    timeZone: zones[i]!,
    now: () => simNow,
    updateMs: 100,
  }));
  sims.push(...devices);
  const fleet = await json<FleetView>(
    api('/api/v1/fleets', { method: 'POST', body: JSON.stringify({ name: `nights-${Date.now()}` }) }),
    201,
  );
  for (const d of devices)
    await json(api(`/api/v1/devices/${d.deviceId}/fleet`, { method: 'PUT', body: JSON.stringify({ fleetId: fleet.id }) }), 200);
  await json(
    api(`/api/v1/fleets/${fleet.id}/update-policy`, {
      method: 'PUT',
      body: JSON.stringify({ lockMaxDeferSeconds: null, windows: everyNight }),
    }),
    200,
  );
  const release = await publishRelease(api, '2.0.0');
  const created = await json<RolloutView>(
    api('/api/v1/rollouts', { method: 'POST', body: JSON.stringify({ releaseId: release.id, selection: { fleetId: fleet.id } }) }),
    201,
  );
  const [tokyo, newYork] = devices;
  await until(async () => tokyo!.activeReleaseId === release.id, 20_000, 'Tokyo to switch inside its window');
  const waiting = await until(
    async () => {
      const items = (await json<Page<RolloutDeviceView>>(api(`/api/v1/rollouts/${created.id}/devices`), 200)).items;
      return items.find((d) => d.deviceId === newYork!.deviceId && d.waitingFor === 'window');
    },
    20_000,
    'New York to wait for its window',
  );
  expect(waiting.state).toBe('updating');
  expect(newYork!.activeReleaseId).not.toBe(release.id);

  simNow = Date.parse('2026-12-05T07:00:30Z'); // New York's window opens
  const done = await until(
    async () => {
      const r = await json<RolloutView>(api(`/api/v1/rollouts/${created.id}`), 200);
      return r.status === 'completed' ? r : undefined;
    },
    20_000,
    'the rollout to complete',
  );
  expect(done.totals).toMatchObject({ succeeded: 2, failed: 0, waiting: 0 });
  for (const [i, d] of devices.entries()) {
    const at = d.switchedAt.at(-1)!;
    expect(nextWindow(everyNight, zones[i]!, at)).toMatchObject({ open: true });
  }
});
