import {
  deviceTopic,
  type AuditEntryView,
  type CreatedOperatorKey,
  type DesiredStatement,
  type Page,
  type RegistryCredentialsView,
  type RegistryTokenAuthView,
  type ReleaseView,
} from '@flotilla/shared';
import type { MqttClient } from 'mqtt';
import { nextMessage, startHarness, type Harness } from '../testing/harness';
import { openDesired } from '../testing/desired';

const PRIVATE = '127.0.0.1:5001';
const PASSWORD = 'pw-never-returned-7f3a';
const image = (registry: string, name: string) => `${registry}/flotilla/${name}@sha256:${'e'.repeat(64)}`;
const manifest = (version: string, images: string[]) =>
  `name: private-app\nx-flotilla: { version: ${version} }\nservices:\n` + images.map((img, i) => `  c${i}: { image: "${img}" }\n`).join('');

let h: Harness;
let keys: { viewer: string; operator: string };

beforeAll(async () => {
  h = await startHarness();
  const key = async (role: string) =>
    (
      (await (
        await h.api('/api/v1/operators/keys', { method: 'POST', body: JSON.stringify({ name: role, role }) })
      ).json()) as CreatedOperatorKey
    ).key;
  keys = { viewer: await key('viewer'), operator: await key('operator') };
});
afterAll(() => h?.close());

function put(host: string, body: unknown, key?: string): Promise<Response> {
  return h.api(`/api/v1/registries/${host}/credentials`, {
    method: 'PUT',
    body: JSON.stringify(body),
    ...(key ? { auth: false, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } } : {}),
  });
}

async function publish(version: string, images: string[]): Promise<ReleaseView> {
  const res = await h.api('/api/v1/releases', {
    method: 'POST',
    body: manifest(version, images),
    headers: { 'content-type': 'application/yaml' },
  });
  expect(res.status).toBe(201);
  return (await res.json()) as ReleaseView;
}

async function nextDesired(client: MqttClient, deviceId: string): Promise<DesiredStatement> {
  return openDesired((await nextMessage(client, deviceTopic(deviceId, 'desired'))).payload);
}

describe('registry credentials through the API', () => {
  it('are set, listed and deleted by an admin, and the password is never answered, stored in clear or audited', async () => {
    const set = await put(PRIVATE, { username: 'alice', password: PASSWORD });
    expect(set.status).toBe(200);
    const view = (await set.json()) as RegistryCredentialsView;
    expect(view).toEqual({
      registry: PRIVATE,
      username: 'alice',
      updatedAt: expect.any(String),
      updatedBy: 'bootstrap',
      grantedFleetIds: [],
    });

    // Host names are case-insensitive, so the same row is replaced.
    const again = await put('Registry.Example.COM', { username: 'bob', password: PASSWORD });
    expect(((await again.json()) as RegistryCredentialsView).registry).toBe('registry.example.com');
    expect((await put('registry.example.com', { username: 'carol', password: `${PASSWORD}-2` })).status).toBe(200);

    const listed = await h.api('/api/v1/registries');
    const text = await listed.text();
    expect(JSON.parse(text)).toEqual([
      expect.objectContaining({ registry: PRIVATE, username: 'alice' }),
      expect.objectContaining({ registry: 'registry.example.com', username: 'carol' }),
    ]);
    expect(text).not.toContain(PASSWORD);

    const stored = await h.db.query<{ password_sealed: string }>('SELECT password_sealed FROM registry_credentials');
    expect(stored).toHaveLength(2);
    for (const row of stored) expect(row.password_sealed).not.toContain(PASSWORD);

    const removed = await h.api('/api/v1/registries/registry.example.com/credentials', { method: 'DELETE' });
    expect(removed.status).toBe(200);
    expect(await removed.json()).toMatchObject({ registry: 'registry.example.com', username: 'carol' });
    const gone = await h.api('/api/v1/registries/registry.example.com/credentials', { method: 'DELETE' });
    expect(gone.status).toBe(404);
    expect(await gone.json()).toMatchObject({ code: 'registry_credentials_not_found' });

    const audit = (await (await h.api('/api/v1/audit?limit=10')).json()) as Page<AuditEntryView>;
    const actions = audit.items.map((e) => `${e.action} ${e.target}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        'PUT /api/v1/registries/:host/credentials 127.0.0.1:5001',
        'DELETE /api/v1/registries/:host/credentials registry.example.com',
      ]),
    );
    const replaced = audit.items.find((e) => e.action.startsWith('PUT') && (e.after as RegistryCredentialsView).username === 'carol');
    expect(replaced?.before).toMatchObject({ username: 'bob' });
    expect(JSON.stringify(audit)).not.toContain(PASSWORD);
  });

  it('refuses a malformed host or body with 400', async () => {
    const badHost = await put('not_a%20host', { username: 'a', password: 'b' });
    expect(badHost.status).toBe(400);
    expect(await badHost.json()).toMatchObject({ code: 'invalid_path_parameter', issues: [{ path: 'host' }] });
    expect((await put(PRIVATE, { username: 'a' })).status).toBe(400);
    expect((await put(PRIVATE, { username: 'a', password: 'b', extra: 1 })).status).toBe(400);
  });

  it('are out of reach of viewers and operators, reads included', async () => {
    for (const key of [keys.viewer, keys.operator]) {
      expect((await put(PRIVATE, { username: 'mallory', password: 'x' }, key)).status).toBe(403);
      const headers = { authorization: `Bearer ${key}` };
      expect((await h.api('/api/v1/registries', { auth: false, headers })).status).toBe(403);
      expect((await h.api(`/api/v1/registries/${PRIVATE}/credentials`, { method: 'DELETE', auth: false, headers })).status).toBe(403);
    }
    const listed = (await (await h.api('/api/v1/registries')).json()) as RegistryCredentialsView[];
    expect(listed.find((r) => r.registry === PRIVATE)?.username).toBe('alice');
  });
});

/** A device registered with an admin's provisioning token for a new fleet, which holds the grant of `registry`'s login. */
async function grantedDevice(registry: string): Promise<{ deviceId: string; password: string }> {
  const fleet = (await (
    await h.api('/api/v1/fleets', { method: 'POST', body: JSON.stringify({ name: `granted-${Date.now()}` }) })
  ).json()) as {
    id: string;
  };
  expect((await h.api(`/api/v1/registries/${registry}/grants/${fleet.id}`, { method: 'PUT' })).status).toBe(200);
  const token = (await (await h.api(`/api/v1/fleets/${fleet.id}/provisioning-tokens`, { method: 'POST', body: '{}' })).json()) as {
    token: string;
  };
  const res = await h.api('/api/v1/devices/register', { method: 'POST', auth: false, body: JSON.stringify({ token: token.token }) });
  expect(res.status).toBe(201);
  return (await res.json()) as { deviceId: string; password: string };
}

describe('registry credentials in the desired message', () => {
  it('go to a device of a granted fleet with the logins of the registries its release pulls from, and no others', async () => {
    await put(PRIVATE, { username: 'alice', password: PASSWORD });
    await put('registry.example.com', { username: 'dave', password: 'unrelated' });
    const mixed = await publish('1.0.0', [image(PRIVATE, 'app'), image('127.0.0.1:5000', 'open')]);
    const open = await publish('2.0.0', [image('127.0.0.1:5000', 'open')]);

    const device = await grantedDevice(PRIVATE);
    const client = await h.connectDevice(device);
    await client.subscribeAsync(deviceTopic(device.deviceId, 'desired'), { qos: 1 });

    let arriving = nextDesired(client, device.deviceId);
    expect(
      (await h.api(`/api/v1/devices/${device.deviceId}/release`, { method: 'PUT', body: JSON.stringify({ releaseId: mixed.id }) })).status,
    ).toBe(200);
    const first = await arriving;
    expect(first.release?.id).toBe(mixed.id);
    expect(first.registryAuth).toEqual([{ registry: PRIVATE, username: 'alice', password: PASSWORD }]);

    // After a restart the device asks for its desired state: the answer carries them too, rotated ones included.
    await put(PRIVATE, { username: 'alice', password: `${PASSWORD}-rotated` });
    arriving = nextDesired(client, device.deviceId);
    await client.publishAsync(deviceTopic(device.deviceId, 'desired/get'), JSON.stringify({ schema: 1, rev: 0 }), { qos: 1 });
    expect((await arriving).registryAuth).toEqual([{ registry: PRIVATE, username: 'alice', password: `${PASSWORD}-rotated` }]);

    arriving = nextDesired(client, device.deviceId);
    await h.api(`/api/v1/devices/${device.deviceId}/release`, { method: 'PUT', body: JSON.stringify({ releaseId: open.id }) });
    const second = await arriving;
    expect(second.release?.id).toBe(open.id);
    expect(second).not.toHaveProperty('registryAuth');

    // The signed release itself never holds them.
    expect(JSON.stringify(first.release)).not.toContain(PASSWORD);
    const view = await (await h.api(`/api/v1/devices/${device.deviceId}`)).text();
    expect(view).not.toContain(PASSWORD);
  });
});

describe('grants and token-issued registries through the API', () => {
  it('grants a login to fleets and takes it back, audited, with 404s that say what is missing', async () => {
    await put(PRIVATE, { username: 'alice', password: PASSWORD });
    const fleet = (await (await h.api('/api/v1/fleets', { method: 'POST', body: JSON.stringify({ name: 'grants' }) })).json()) as {
      id: string;
    };
    const granted = await h.api(`/api/v1/registries/${PRIVATE}/grants/${fleet.id}`, { method: 'PUT' });
    expect(granted.status).toBe(200);
    expect(await granted.json()).toMatchObject({ registry: PRIVATE, grantedFleetIds: expect.arrayContaining([fleet.id]) });
    // Replacing the password keeps the grant.
    expect(await (await put(PRIVATE, { username: 'alice', password: `${PASSWORD}-2` })).json()).toMatchObject({
      grantedFleetIds: expect.arrayContaining([fleet.id]),
    });

    const noFleet = await h.api(`/api/v1/registries/${PRIVATE}/grants/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`, {
      method: 'PUT',
    });
    expect([noFleet.status, ((await noFleet.json()) as { code: string }).code]).toEqual([404, 'fleet_not_found']);
    const noLogin = await h.api(`/api/v1/registries/nowhere.example.com/grants/${fleet.id}`, { method: 'PUT' });
    expect([noLogin.status, ((await noLogin.json()) as { code: string }).code]).toEqual([404, 'registry_credentials_not_found']);

    const revoked = await h.api(`/api/v1/registries/${PRIVATE}/grants/${fleet.id}`, { method: 'DELETE' });
    expect(((await revoked.json()) as RegistryCredentialsView).grantedFleetIds).not.toContain(fleet.id);
    const again = await h.api(`/api/v1/registries/${PRIVATE}/grants/${fleet.id}`, { method: 'DELETE' });
    expect([again.status, ((await again.json()) as { code: string }).code]).toEqual([404, 'registry_grant_not_found']);

    const audit = (await (await h.api('/api/v1/audit?limit=20')).json()) as Page<AuditEntryView>;
    expect(audit.items.map((e) => e.action)).toEqual(
      expect.arrayContaining(['PUT /api/v1/registries/:host/grants/:fleetId', 'DELETE /api/v1/registries/:host/grants/:fleetId']),
    );
    expect(JSON.stringify(audit)).not.toContain(PASSWORD);
  });

  it('marks a registry token-issued with a lifetime in bounds, answers its registry configuration, lists and forgets it', async () => {
    const path = '/api/v1/registries/own.example.com/token-auth';
    for (const bad of [{ ttlSeconds: 10 }, { ttlSeconds: 10 ** 6 }, { service: '' }, { extra: 1 }])
      expect((await h.api(path, { method: 'PUT', body: JSON.stringify(bad) })).status).toBe(400);
    const marked = await h.api(path, { method: 'PUT', body: JSON.stringify({ service: 'own-registry' }) });
    expect(marked.status).toBe(200);
    const view = (await marked.json()) as RegistryTokenAuthView;
    expect(view).toMatchObject({ registry: 'own.example.com', service: 'own-registry', issuer: 'flotilla', ttlSeconds: 900 });
    expect(view.rootCertificate).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(view.registryConfig).toContain(`realm: ${h.cp.httpUrl}/api/v1/registry-token`);
    expect(view.registryConfig).toContain('service: "own-registry"');
    expect(((await (await h.api('/api/v1/registries/token-auth')).json()) as RegistryTokenAuthView[]).map((r) => r.registry)).toEqual([
      'own.example.com',
    ]);
    expect((await h.api(path, { method: 'DELETE' })).status).toBe(200);
    expect(await (await h.api(path, { method: 'DELETE' })).json()).toMatchObject({ code: 'registry_token_auth_not_found' });
  });
});
