import {
  deviceTopic,
  type DesiredStatement,
  type DeviceView,
  type FleetView,
  type Page,
  type ProvisioningTokenView,
  type RegisterDeviceResponse,
  type ReleaseView,
  type FleetTargetJobView,
  type SetFleetTargetResponse,
} from '@flotilla/shared';
import type { MqttClient } from 'mqtt';
import { eventually, messagesBefore, nextMessage, startHarness, type Harness } from '../testing/harness';
import { openDesired } from '../testing/desired';

const manifest = (version: string) => `
name: fleet-app
x-flotilla: { version: ${version} }
services:
  web: { image: "127.0.0.1:5000/flotilla/busybox@sha256:${'f'.repeat(64)}" }
`;

let h: Harness;
let v1: ReleaseView;
let v2: ReleaseView;
beforeAll(async () => {
  h = await startHarness();
  v1 = await call<ReleaseView>('POST', '/api/v1/releases', manifest('1.0.0'), 'application/yaml');
  v2 = await call<ReleaseView>('POST', '/api/v1/releases', manifest('2.0.0'), 'application/yaml');
});
afterAll(() => h?.close());

async function call<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
  const res = await h.api(path, {
    method,
    ...(body !== undefined
      ? { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': contentType } }
      : {}),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function listening(device: RegisterDeviceResponse): Promise<MqttClient> {
  const client = await h.connectDevice(device);
  await client.subscribeAsync(deviceTopic(device.deviceId, 'desired'), { qos: 1 });
  return client;
}

async function nextDesired(client: MqttClient, deviceId: string): Promise<DesiredStatement> {
  return openDesired((await nextMessage(client, deviceTopic(deviceId, 'desired'))).payload);
}

/**
 * The sentinel for "this device was told nothing": it asks for its desired state, and the answer
 * (rev `rev`, release `releaseId`) comes after anything the control plane published to it before,
 * since publishes are done before the API answers and the broker delivers in order.
 */
async function askDesired(client: MqttClient, deviceId: string): Promise<void> {
  await client.publishAsync(deviceTopic(deviceId, 'desired/get'), JSON.stringify({ schema: 1, rev: 0 }), { qos: 1 });
}

/** What `deviceId` received before the answer to `askDesired` showing `rev` and `releaseId`. */
function untilAnswered(client: MqttClient, deviceId: string, rev: number, releaseId: string | null): Promise<Buffer[]> {
  return messagesBefore(client, deviceTopic(deviceId, 'desired'), (payload) => {
    const desired = openDesired(payload);
    return desired.rev === rev && (desired.release?.id ?? null) === releaseId;
  });
}

async function fleetDevice(fleet: FleetView): Promise<RegisterDeviceResponse> {
  const token = await call<ProvisioningTokenView>('POST', `/api/v1/fleets/${fleet.id}/provisioning-tokens`, { maxUses: 5 });
  return call<RegisterDeviceResponse>('POST', '/api/v1/devices/register', { token: token.token, name: 'in-fleet' });
}

describe('fleets', () => {
  it('creates and lists fleets; names are unique', async () => {
    const fleet = await call<FleetView>('POST', '/api/v1/fleets', { name: 'north', boards: ['raspberrypi5'], config: { SITE: 'north' } });
    expect(fleet).toMatchObject({
      name: 'north',
      boards: ['raspberrypi5'],
      config: { SITE: 'north' },
      targetReleaseId: null,
      deviceCount: 0,
    });
    expect((await h.api('/api/v1/fleets', { method: 'POST', body: JSON.stringify({ name: 'north' }) })).status).toBe(409);
    expect((await call<FleetView[]>('GET', '/api/v1/fleets')).map((f) => f.name)).toContain('north');
  });

  it('refuses a target release that does not run on the fleet boards', async () => {
    const qemuOnly = await call<ReleaseView>(
      'POST',
      '/api/v1/releases',
      manifest('3.0.0').replace('{ version: 3.0.0 }', '{ version: 3.0.0, boards: [qemu-arm64-virt] }'),
      'application/yaml',
    );
    const fleet = await call<FleetView>('POST', '/api/v1/fleets', { name: 'pis', boards: ['raspberrypi5'] });
    const res = await h.api(`/api/v1/fleets/${fleet.id}/target`, { method: 'PUT', body: JSON.stringify({ releaseId: qemuOnly.id }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'release_incompatible_with_fleet', issues: [{ path: 'releaseId' }] });
    expect((await call<FleetView>('GET', `/api/v1/fleets/${fleet.id}`)).targetReleaseId).toBeNull();
  });

  it('a fleet token joins the fleet, and the device gets the fleet target on its first desired/get', async () => {
    const fleet = await call<FleetView>('POST', '/api/v1/fleets', { name: 'joiners', targetReleaseId: v1.id, config: { SITE: 'j' } });
    const device = await fleetDevice(fleet);
    const view = await call<DeviceView>('GET', `/api/v1/devices/${device.deviceId}`);
    expect(view).toMatchObject({ fleetId: fleet.id, desired: { rev: 1, releaseId: v1.id }, effectiveConfig: { SITE: 'j' } });
    const client = await listening(device);
    const arriving = nextDesired(client, device.deviceId);
    await client.publishAsync(deviceTopic(device.deviceId, 'desired/get'), JSON.stringify({ schema: 1, rev: 0 }), { qos: 1 });
    expect(await arriving).toMatchObject({ rev: 1, release: { id: v1.id }, config: { SITE: 'j' } });
  });

  it('setting the target assigns it to unpinned devices over MQTT; pinned ones stay put', async () => {
    const fleet = await call<FleetView>('POST', '/api/v1/fleets', { name: 'targets' });
    const [a, b] = [await fleetDevice(fleet), await fleetDevice(fleet)];
    await call('PUT', `/api/v1/devices/${b.deviceId}/pin`, { releaseId: v1.id });
    const [ca, cb] = [await listening(a), await listening(b)];
    const toA = nextDesired(ca, a.deviceId);
    const quietB = untilAnswered(cb, b.deviceId, 1, v1.id);

    const res = await h.api(`/api/v1/fleets/${fleet.id}/target`, { method: 'PUT', body: JSON.stringify({ releaseId: v2.id }) });
    expect(res.status).toBe(202);
    const result = (await res.json()) as SetFleetTargetResponse;
    expect(result).toMatchObject({ fleet: { targetReleaseId: v2.id, deviceCount: 2 }, job: { fleetId: fleet.id, releaseId: v2.id } });
    expect(await toA).toMatchObject({ rev: 1, release: { id: v2.id } });
    let job: FleetTargetJobView | undefined;
    await eventually(
      async () => (job = await call<FleetTargetJobView>('GET', `/api/v1/fleet-target-jobs/${result.job.id}`)).status === 'completed',
    );
    expect(job).toMatchObject({ assigned: 1, published: 1, finishedAt: expect.any(String) });
    await askDesired(cb, b.deviceId);
    expect(await quietB).toEqual([]);

    // Unpinned, b follows the fleet again.
    const toB = nextDesired(cb, b.deviceId);
    const unpinned = await call<DeviceView>('DELETE', `/api/v1/devices/${b.deviceId}/pin`);
    expect(unpinned).toMatchObject({ pinnedReleaseId: null, desired: { rev: 2, releaseId: v2.id } });
    expect(await toB).toMatchObject({ rev: 2, release: { id: v2.id } });
  });

  it('fleet config and device overrides make desired.config; every change bumps the rev and publishes', async () => {
    const fleet = await call<FleetView>('POST', '/api/v1/fleets', { name: 'configured', config: { LOG: 'info', SITE: 'x' } });
    const device = await fleetDevice(fleet);
    const client = await listening(device);

    let arriving = nextDesired(client, device.deviceId);
    const overridden = await call<DeviceView>('PUT', `/api/v1/devices/${device.deviceId}/config`, { config: { LOG: 'debug' } });
    expect(overridden).toMatchObject({ config: { LOG: 'debug' }, effectiveConfig: { LOG: 'debug', SITE: 'x' }, desired: { rev: 1 } });
    expect(await arriving).toMatchObject({ rev: 1, release: null, config: { LOG: 'debug', SITE: 'x' } });

    arriving = nextDesired(client, device.deviceId);
    await call('PUT', `/api/v1/fleets/${fleet.id}/config`, { config: { LOG: 'warn', SITE: 'y' } });
    expect(await arriving).toMatchObject({ rev: 2, config: { LOG: 'debug', SITE: 'y' } });

    // Tags select devices; they are not desired state.
    const quiet = untilAnswered(client, device.deviceId, 2, null);
    const tagged = await call<DeviceView>('PUT', `/api/v1/devices/${device.deviceId}/tags`, { tags: ['lab', 'canary', 'lab'] });
    expect(tagged).toMatchObject({ tags: ['canary', 'lab'], desired: { rev: 2 } });
    await askDesired(client, device.deviceId);
    expect(await quiet).toEqual([]);

    const bad = await h.api(`/api/v1/devices/${device.deviceId}/config`, {
      method: 'PUT',
      body: JSON.stringify({ config: { 'not a key': 1 } }),
    });
    expect(bad.status).toBe(400);
  });

  it('moves a device between fleets: it takes the new fleet target and config', async () => {
    const from = await call<FleetView>('POST', '/api/v1/fleets', { name: 'from', config: { SITE: 'from' } });
    const to = await call<FleetView>('POST', '/api/v1/fleets', { name: 'to', config: { SITE: 'to' }, targetReleaseId: v2.id });
    const device = await fleetDevice(from);
    const client = await listening(device);
    const arriving = nextDesired(client, device.deviceId);
    const moved = await call<DeviceView>('PUT', `/api/v1/devices/${device.deviceId}/fleet`, { fleetId: to.id });
    expect(moved).toMatchObject({ fleetId: to.id, desired: { rev: 1, releaseId: v2.id }, effectiveConfig: { SITE: 'to' } });
    expect(await arriving).toMatchObject({ rev: 1, release: { id: v2.id }, config: { SITE: 'to' } });
    const missing = await h.api(`/api/v1/devices/${device.deviceId}/fleet`, {
      method: 'PUT',
      body: JSON.stringify({ fleetId: '00000000-0000-4000-8000-000000000000' }),
    });
    expect(await missing.json()).toMatchObject({ code: 'fleet_not_found' });
  });

  it('lists devices by fleet, tag and online', async () => {
    const fleet = await call<FleetView>('POST', '/api/v1/fleets', { name: 'listed' });
    const [a, b] = [await fleetDevice(fleet), await fleetDevice(fleet)];
    await call('PUT', `/api/v1/devices/${a.deviceId}/tags`, { tags: ['red'] });
    await h.connectDevice(b);
    await eventually(async () => (await call<DeviceView>('GET', `/api/v1/devices/${b.deviceId}`)).online, 5000, 'b online');
    const ids = async (query: string) => (await call<Page<DeviceView>>('GET', `/api/v1/devices?${query}`)).items.map((d) => d.id);
    expect(await ids(`fleetId=${fleet.id}`)).toEqual([a.deviceId, b.deviceId]);
    expect(await ids(`fleetId=${fleet.id}&tag=red`)).toEqual([a.deviceId]);
    expect(await ids(`fleetId=${fleet.id}&online=true`)).toEqual([b.deviceId]);
    expect(await ids(`fleetId=${fleet.id}&online=false`)).toEqual([a.deviceId]);
    expect((await h.api('/api/v1/devices?online=maybe')).status).toBe(400);
  });
});

describe('provisioning tokens', () => {
  it('revoked tokens register nothing more; unknown fleets are refused', async () => {
    const token = await call<ProvisioningTokenView>('POST', '/api/v1/provisioning-tokens', { maxUses: 5 });
    expect(token).toMatchObject({ uses: 0, fleetId: null, revokedAt: null });
    const revoked = await call<ProvisioningTokenView>('DELETE', `/api/v1/provisioning-tokens/${token.id}`);
    expect(revoked.revokedAt).not.toBeNull();
    const res = await h.api('/api/v1/devices/register', { method: 'POST', auth: false, body: JSON.stringify({ token: token.token }) });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 'provisioning_token_revoked' });
    const noFleet = await h.api('/api/v1/provisioning-tokens', {
      method: 'POST',
      body: JSON.stringify({ fleetId: '00000000-0000-4000-8000-000000000000' }),
    });
    expect(noFleet.status).toBe(404);
  });
});

describe('decommissioning', () => {
  it('drops the connected device at once, refuses its reconnect, and lists it as decommissioned', async () => {
    const device = await h.registerDevice();
    const client = await h.connectDevice(device);
    const gone = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const view = await call<DeviceView>('POST', `/api/v1/devices/${device.deviceId}/decommission`);
    expect(view.decommissionedAt).not.toBeNull();
    await gone;
    await expect(h.connectDevice(device)).rejects.toMatchObject({ code: 4 });
    const listed = await call<Page<DeviceView>>('GET', '/api/v1/devices?decommissioned=true');
    expect(listed.items.map((d) => d.id)).toContain(device.deviceId);
    expect((await call<Page<DeviceView>>('GET', '/api/v1/devices?decommissioned=false')).items.map((d) => d.id)).not.toContain(
      device.deviceId,
    );
    expect(
      (await h.api(`/api/v1/devices/${device.deviceId}/release`, { method: 'PUT', body: JSON.stringify({ releaseId: v1.id }) })).status,
    ).toBe(404);
    expect((await h.api(`/api/v1/devices/${device.deviceId}`, { method: 'DELETE' })).status).toBe(200);
  });
});
