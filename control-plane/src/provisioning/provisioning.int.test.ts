import type { ApiError, ProvisioningTokenView, RegisterDeviceResponse } from '@flotilla/shared';
import { startHarness, type Harness } from '../testing/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

async function createToken(body: object = {}): Promise<ProvisioningTokenView> {
  const res = await h.api('/api/v1/provisioning-tokens', { method: 'POST', body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return (await res.json()) as ProvisioningTokenView;
}

function register(token: string, extra: object = {}): Promise<Response> {
  return h.api('/api/v1/devices/register', { method: 'POST', auth: false, body: JSON.stringify({ token, ...extra }) });
}

describe('operator authentication', () => {
  it.each([
    ['GET', '/api/v1/devices'],
    ['GET', '/api/v1/releases'],
    ['POST', '/api/v1/provisioning-tokens'],
  ])('%s %s needs the operator key', async (method, path) => {
    const res = await h.api(path, { method, auth: false });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ statusCode: 401, code: 'unauthorized' });
    const wrong = await h.api(path, { method, auth: false, headers: { authorization: 'Bearer not-the-key' } });
    expect(wrong.status).toBe(401);
  });

  it('leaves /healthz open', async () => {
    const res = await h.api('/healthz', { auth: false });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', database: 'up', broker: 'up' });
  });
});

describe('provisioning', () => {
  it('creates a token with defaults, then registers a device that can connect over MQTT', async () => {
    const token = await createToken();
    expect(token).toMatchObject({ token: expect.stringMatching(/^ptk_[A-Za-z0-9_-]{43}$/), maxUses: 1 });
    const days = (Date.parse(token.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThan(7.1);

    const res = await register(token.token, { name: 'kitchen-pi', board: 'raspberrypi5' });
    expect(res.status).toBe(201);
    const device = (await res.json()) as RegisterDeviceResponse;
    expect(device.deviceId).toMatch(/^dev_[a-z2-7]{26}$/);
    // The device reached the API on 127.0.0.1, so that is where it finds the broker.
    expect(device.mqttUrl).toBe(h.cp.mqttUrl);

    const client = await h.connectDevice(device);
    expect(client.connected).toBe(true);
    await client.endAsync();

    const view = await (await h.api(`/api/v1/devices/${device.deviceId}`)).json();
    expect(view).toMatchObject({
      id: device.deviceId,
      name: 'kitchen-pi',
      board: 'raspberrypi5',
      desired: { rev: 0, releaseId: null },
      reported: null,
      inventory: null,
    });
  });

  it('refuses a wrong password, an unknown device and a client id that is not the device id', async () => {
    const device = await h.registerDevice();
    await expect(h.connectDevice({ ...device, password: `${device.password}x` })).rejects.toMatchObject({ code: 4 });
    await expect(h.connectDevice({ deviceId: 'dev_nosuchdevice', password: device.password })).rejects.toMatchObject({ code: 4 });
    await expect(h.connectDevice(device, { clientId: 'mqttjs_other' })).rejects.toMatchObject({ code: 2 });
  });

  it('never lets more registrations through than maxUses, even concurrently', async () => {
    const token = await createToken({ maxUses: 3 });
    const results = await Promise.all(Array.from({ length: 10 }, () => register(token.token)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 201, 201, 403, 403, 403, 403, 403, 403, 403]);
    const refused = (await results.find((r) => r.status === 403)!.json()) as ApiError;
    expect(refused).toMatchObject({ statusCode: 403, code: 'provisioning_token_exhausted' });
    const [row] = await h.db.query<{ uses: number }>('SELECT uses FROM provisioning_tokens WHERE id = $1', [token.id]);
    expect(row!.uses).toBe(3);
  });

  it('refuses unknown and expired tokens with distinct codes', async () => {
    const unknown = await register(`ptk_${'A'.repeat(43)}`);
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toMatchObject({ code: 'provisioning_token_invalid' });
    const malformed = await register('hello');
    expect(malformed.status).toBe(401);

    const token = await createToken({ maxUses: 5 });
    await h.db.query(`UPDATE provisioning_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [token.id]);
    const expired = await register(token.token);
    expect(expired.status).toBe(403);
    expect(await expired.json()).toMatchObject({ code: 'provisioning_token_expired' });
  });

  it('validates request bodies with the shared schemas', async () => {
    const res = await h.api('/api/v1/provisioning-tokens', { method: 'POST', body: JSON.stringify({ maxUses: 0, extra: true }) });
    expect(res.status).toBe(400);
    const body = (await res.json()) as ApiError;
    expect(body.code).toBe('invalid_request');
    expect(body.issues?.map((i) => i.path)).toEqual(expect.arrayContaining(['maxUses']));
    const missing = await h.api('/api/v1/devices/register', { method: 'POST', auth: false, body: '{}' });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as ApiError).issues?.[0]?.path).toBe('token');
  });

  it('answers unknown devices with 404', async () => {
    const res = await h.api('/api/v1/devices/dev_doesnotexist');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ statusCode: 404, code: 'device_not_found' });
  });
});
