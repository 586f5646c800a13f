import type { DeviceView, FleetView, ReleaseView, RolloutView } from '@flotilla/shared';
import { startHarness, type Harness } from '../testing/harness';

jest.setTimeout(60_000);

let h: Harness;
let fleet: FleetView;
let release: ReleaseView;
beforeAll(async () => {
  h = await startHarness();
  fleet = await call<FleetView>('POST', '/api/v1/fleets', { name: 'upper-bodies' });
  release = await call<ReleaseView>(
    'POST',
    '/api/v1/releases',
    `name: upper\nx-flotilla: { version: 1.0.0 }\nservices:\n  app: { image: "127.0.0.1:5000/flotilla/busybox@sha256:${'f'.repeat(64)}" }\n`,
    'application/yaml',
  );
});
afterAll(() => h?.close());

async function call<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
  const res = await h.api(path, {
    method,
    ...(body === undefined
      ? {}
      : { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': contentType } }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

const up = (id: string) => id.toUpperCase();

it('hands on a UUID typed in upper case in a body in lower case, on every route that takes one', async () => {
  const device = await h.registerDevice('upper-device');
  const shown: unknown[] = [];
  shown.push(await call('PUT', `/api/v1/devices/${device.deviceId}/fleet`, { fleetId: up(fleet.id) }));
  shown.push(await call('PUT', `/api/v1/devices/${device.deviceId}/pin`, { releaseId: up(release.id) }));
  shown.push(await call('DELETE', `/api/v1/devices/${device.deviceId}/pin`));
  shown.push(await call('PUT', `/api/v1/devices/${device.deviceId}/release`, { releaseId: up(release.id) }));
  shown.push(await call('PUT', `/api/v1/fleets/${fleet.id}/target`, { releaseId: up(release.id) }));
  shown.push(await call('POST', '/api/v1/fleets', { name: 'upper-target', targetReleaseId: up(release.id) }));
  shown.push(await call('POST', '/api/v1/provisioning-tokens', { fleetId: up(fleet.id) }));
  const rollout = await call<RolloutView>('POST', '/api/v1/rollouts', { releaseId: up(release.id), selection: { fleetId: up(fleet.id) } });
  shown.push(rollout);
  shown.push(await call('GET', '/api/v1/audit?limit=50'));
  const text = JSON.stringify(shown);
  for (const id of [fleet.id, release.id]) expect(text).not.toContain(up(id));
  expect(rollout.releaseId).toBe(release.id);
});

it('finds by a UUID typed in upper case in a query', async () => {
  const devices = await call<{ items: DeviceView[] }>('GET', `/api/v1/devices?fleetId=${up(fleet.id)}`);
  expect(devices.items.map((d) => d.name)).toEqual(['upper-device']);
  const rollouts = await call<{ items: RolloutView[] }>('GET', `/api/v1/rollouts?releaseId=${up(release.id)}`);
  expect(rollouts.items.map((r) => r.selection)).toEqual([{ fleetId: fleet.id }]);
});
