import { nextWindow, type FleetView, type Page, type RolloutDeviceView, type RolloutView, type WindowSchedule } from '@flotilla/shared';
import { startHarness, type Harness } from '../testing/harness';
import { SimDevice } from '../testing/sim-device';
import { apiClient, json, publishRelease, startSimFleet, until, type Api } from '../testing/sim-fleet';
import { RolloutEngine } from './rollout-engine';

// Integration, issue 18 item 2: one simulated clock for the control plane (the rollout engine's
// device timeouts) and the simulated devices (their maintenance windows). Hours of waiting pass in
// milliseconds; every "nothing happened" is checked after an awaited engine pass, never a sleep.
// Real PostgreSQL and broker.

jest.setTimeout(60_000);

// Friday 4 December 2026, 17:30 UTC: 02:30 on Saturday in Tokyo (inside its nightly window),
// 12:30 in New York (its window opens at 02:00 local = 07:00 UTC on Saturday).
let simNow = Date.parse('2026-12-04T17:30:00Z');
const clock = { now: () => simNow };
const everyNight: WindowSchedule = [{ days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], start: '02:00', durationMinutes: 120 }];
const zones = ['Asia/Tokyo', 'America/New_York', 'America/New_York'];
const HOUR = 3600_000;

let h: Harness;
let api: Api;
const sims: SimDevice[] = [];

beforeAll(async () => {
  h = await startHarness({}, { clock });
  api = apiClient(() => h.cp.httpUrl, h.cp.apiKey);
});
afterAll(async () => {
  await Promise.all(sims.map((s) => s.stop()));
  await h?.close();
});

async function devices(rolloutId: string): Promise<Map<string, RolloutDeviceView>> {
  const page = await json<Page<RolloutDeviceView>>(api(`/api/v1/rollouts/${rolloutId}/devices`), 200);
  return new Map(page.items.map((d) => [d.deviceId, d]));
}

it('switches each device only inside its window; the device timeout counts from when its window opened, not from the assignment', async () => {
  const fleetDevices = await startSimFleet(api, h.cp.mqttUrl, 3, (i) => ({
    inventory: true,
    timeZone: zones[i]!,
    now: clock.now,
    updateMs: 100,
    // The third downloads, then never commits once its window is open.
    behavior: () => (i === 2 ? 'hang' : 'commit'),
  }));
  sims.push(...fleetDevices);
  const [tokyo, newYork, stuck] = fleetDevices as [SimDevice, SimDevice, SimDevice];
  const fleet = await json<FleetView>(
    api('/api/v1/fleets', { method: 'POST', body: JSON.stringify({ name: `clock-${Date.now()}` }) }),
    201,
  );
  for (const d of fleetDevices)
    await json(api(`/api/v1/devices/${d.deviceId}/fleet`, { method: 'PUT', body: JSON.stringify({ fleetId: fleet.id }) }), 200);
  await json(
    api(`/api/v1/fleets/${fleet.id}/update-policy`, {
      method: 'PUT',
      body: JSON.stringify({ lockMaxDeferSeconds: null, windows: everyNight }),
    }),
    200,
  );
  await until(async () => fleetDevices.every((d) => d.received.at(-1)?.updatePolicy?.windows?.length), 10_000, 'the windows in desired');
  const release = await publishRelease(api, '3.0.0');
  const rollout = await json<RolloutView>(
    api('/api/v1/rollouts', {
      method: 'POST',
      body: JSON.stringify({
        releaseId: release.id,
        selection: { fleetId: fleet.id },
        deviceTimeoutSeconds: 3600,
        phases: [{ percent: 100, successThreshold: 0, failureThreshold: 100, onFailure: 'pause' }],
      }),
    }),
    201,
  );
  const engine = h.cp.app.get(RolloutEngine);

  await until(async () => tokyo.activeReleaseId === release.id, 20_000, 'Tokyo to switch inside its window');
  await until(
    async () => {
      const seen = await devices(rollout.id);
      return [newYork, stuck].every((d) => seen.get(d.deviceId)?.waitingFor === 'window');
    },
    20_000,
    'both New York devices to wait for their window',
  );

  // 13 hours later by the shared clock (far past the 1 h device timeout), 30 min before New York's window.
  simNow = Date.parse('2026-12-05T06:30:00Z');
  await engine.pass();
  let seen = await devices(rollout.id);
  for (const d of [newYork, stuck]) expect(seen.get(d.deviceId)).toMatchObject({ state: 'updating', waitingFor: 'window', reason: null });
  expect(newYork.activeReleaseId).not.toBe(release.id);

  // The window opens: New York switches; the stuck one's timer starts now.
  simNow = Date.parse('2026-12-05T07:00:30Z');
  await until(async () => newYork.activeReleaseId === release.id, 20_000, 'New York to switch once its window opened');
  const opened = await until(
    async () => {
      const d = (await devices(rollout.id)).get(stuck.deviceId);
      return d?.waitingFor === null && d.assignedAt ? d : undefined;
    },
    20_000,
    'the stuck device to leave its wait',
  );
  expect(Date.parse(opened.assignedAt!)).toBe(simNow);

  simNow += 59 * 60_000; // 59 minutes into its window: not yet timed out
  await engine.pass();
  seen = await devices(rollout.id);
  expect(seen.get(stuck.deviceId)).toMatchObject({ state: 'updating', reason: null });

  simNow += 2 * 60_000; // 61 minutes after its window opened
  const failed = await until(
    async () => {
      await engine.pass();
      const d = (await devices(rollout.id)).get(stuck.deviceId);
      return d?.state === 'failed' ? d : undefined;
    },
    20_000,
    'the stuck device to time out, an hour after its window opened',
  );
  expect(failed.reason).toContain('timed out after 3600 s');

  // The switches to the release happened inside each device's own window, by the simulated clock
  // (earlier entries are switches to the fleet's configuration, before the rollout).
  for (const [i, d] of [tokyo, newYork].entries()) {
    expect(nextWindow(everyNight, zones[i]!, d.switchedAt.at(-1)!)).toMatchObject({ open: true });
  }
  expect(newYork.switchedAt.at(-1)).toBeGreaterThanOrEqual(Date.parse('2026-12-05T07:00:00Z'));
  expect(seen.get(tokyo.deviceId)?.state).toBe('succeeded');
  expect(simNow - Date.parse('2026-12-04T17:30:00Z')).toBeGreaterThan(14 * HOUR);
});
