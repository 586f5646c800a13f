import {
  deviceDeltaBlobPath,
  DEVICE_DELTA_PATH,
  type CreatedOperatorKey,
  type DeviceView,
  type FleetView,
  type ImageDelta,
  type RegisterDeviceResponse,
} from '@flotilla/shared';
import { startHarness, type Harness } from '../testing/harness';
import { apiClient, json, publishRelease, registerDevices, type Api } from '../testing/sim-fleet';
import { DeltaRepository } from './delta.repository';
import { DeltasService } from './deltas.service';

// Integration: who may fetch deltas, over the real HTTP stack and PostgreSQL. A device with its
// own credentials, for images of its own desired release only; an operator key is not a device's.
// (The computation itself, against a real registry, is in test/e2e/delta-update.e2e.test.ts.)

jest.setTimeout(60_000);

let h: Harness;
let api: Api;
beforeAll(async () => {
  h = await startHarness();
  api = apiClient(() => h.cp.httpUrl, h.cp.apiKey);
});
afterAll(async () => {
  await h?.close();
});

const image = (c: string) => `127.0.0.1:5000/flotilla/busybox@sha256:${c.repeat(64)}`;

it('answers a device only with its own credentials and for the images of its own desired release', async () => {
  const [device, other] = await registerDevices(api, 2, 'delta');
  await publishRelease(api, '0.9.0', image('a'));
  const release = await publishRelease(api, '1.0.0', image('d'));
  await json<DeviceView>(
    api(`/api/v1/devices/${device!.deviceId}/release`, { method: 'PUT', body: JSON.stringify({ releaseId: release.id }) }),
    200,
  );
  const basic = (id: string, password: string) => `Basic ${Buffer.from(`${id}:${password}`).toString('base64')}`;
  const ask = (authorization: string | null, query: Record<string, string>, path = DEVICE_DELTA_PATH) =>
    fetch(`${h.cp.httpUrl}${path}?${new URLSearchParams(query)}`, { headers: authorization ? { authorization } : {} });
  const query = { from: image('a'), to: image('d'), architecture: 'arm64' };

  for (const authorization of [null, basic(device!.deviceId, 'wrong'), `Bearer ${h.cp.apiKey}`, basic('dev_nobody', device!.password!)]) {
    const res = await ask(authorization, query);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe('device_credentials_invalid');
  }
  // Another device, and the device for an image not in its release: forbidden, nothing computed.
  expect((await ask(basic(other!.deviceId, other!.password!), query)).status).toBe(403);
  expect((await ask(basic(device!.deviceId, device!.password!), { ...query, to: image('e') })).status).toBe(403);
  // From an image no release names (any host the device likes): the control plane does not go reading it.
  const elsewhere = { ...query, from: `127.0.0.9:5999/probe@sha256:${'a'.repeat(64)}` };
  expect((await ask(basic(device!.deviceId, device!.password!), elsewhere)).status).toBe(403);
  const bad = await ask(basic(device!.deviceId, device!.password!), { ...query, to: 'busybox:latest' });
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { message: string }).message).toContain('pinned by digest');
  // A parameter the route does not take is named, not ignored, as on every other route.
  const extra = await ask(basic(device!.deviceId, device!.password!), { ...query, arch: 'arm64' });
  expect([extra.status, ((await extra.json()) as { message: string }).message]).toEqual([400, expect.stringMatching(/arch/)]);
  expect(await h.db.query('SELECT 1 FROM image_deltas')).toEqual([]);

  // Its own: the computation starts (and fails here: no such image in the registry), reported as such.
  const first = await ask(basic(device!.deviceId, device!.password!), query);
  expect(first.status).toBe(200);
  expect(((await first.json()) as ImageDelta).status).toMatch(/computing|failed/);
  await h.cp.app.get(DeltasService).idle();
  const settled = (await (await ask(basic(device!.deviceId, device!.password!), query)).json()) as ImageDelta;
  expect(settled).toMatchObject({ status: 'failed', layers: [], deltaBytes: null });
  expect(settled.error).toContain('127.0.0.1:5000');

  // Delta files: only one a ready delta to its own release holds, whatever the digest.
  const blob = await ask(basic(device!.deviceId, device!.password!), {}, deviceDeltaBlobPath(`sha256:${'f'.repeat(64)}`));
  expect(blob.status).toBe(403);
  expect((await ask(basic(device!.deviceId, device!.password!), {}, deviceDeltaBlobPath('sha256:xyz'))).status).toBe(400);
});

it("serves a delta of a registry's images behind a stored login only to a device given that login: not its plan, not its files", async () => {
  // An operator registers a device (never given stored logins) and assigns it a release from a
  // registry whose login an admin stored: the control plane reads the images with that login.
  const registry = '127.0.0.1:5999';
  const privateImage = (c: string) => `${registry}/private/app@sha256:${c.repeat(64)}`;
  const operatorKey = (
    await json<CreatedOperatorKey>(
      api('/api/v1/operators/keys', { method: 'POST', body: JSON.stringify({ name: 'op', role: 'operator' }) }),
    )
  ).key;
  const asOperator = apiClient(() => h.cp.httpUrl, operatorKey);
  const [byOperator] = await registerDevices(asOperator, 1, 'op-delta');
  const [byAdmin] = await registerDevices(api, 1, 'admin-delta');
  const fleet = await json<FleetView>(api('/api/v1/fleets', { method: 'POST', body: JSON.stringify({ name: 'private-pulls' }) }), 201);
  await publishRelease(asOperator, '2.0.0', privateImage('1'));
  const release = await publishRelease(asOperator, '2.1.0', privateImage('2'));
  for (const d of [byOperator!, byAdmin!]) {
    await json(api(`/api/v1/devices/${d.deviceId}/fleet`, { method: 'PUT', body: JSON.stringify({ fleetId: fleet.id }) }), 200);
    await json(
      asOperator(`/api/v1/devices/${d.deviceId}/release`, { method: 'PUT', body: JSON.stringify({ releaseId: release.id }) }),
      200,
    );
  }
  await json(
    api(`/api/v1/registries/${registry}/credentials`, {
      method: 'PUT',
      body: JSON.stringify({ username: 'puller', password: 'pull-secret-0123' }),
    }),
    200,
  );

  const basic = (d: RegisterDeviceResponse) => ({
    authorization: `Basic ${Buffer.from(`${d.deviceId}:${d.password}`).toString('base64')}`,
  });
  const query = { from: privateImage('1'), to: privateImage('2'), architecture: 'arm64' };
  const plan = (d: RegisterDeviceResponse) =>
    fetch(`${h.cp.httpUrl}${DEVICE_DELTA_PATH}?${new URLSearchParams(query)}`, { headers: basic(d) });
  const refusal = async (res: Promise<Response>) => {
    const r = await res;
    return [r.status, ((await r.json()) as { code: string; message: string }).code];
  };

  // Granted to no fleet: neither device is given the login, nor a delta of its images; nothing is read.
  for (const d of [byOperator!, byAdmin!]) expect(await refusal(plan(d))).toEqual([403, 'delta_forbidden']);
  expect(await h.db.query('SELECT 1 FROM image_deltas WHERE to_image = $1', [query.to])).toEqual([]);

  // Granted to their fleet: the device an admin's token registered is given the login, and the delta.
  await json(api(`/api/v1/registries/${registry}/grants/${fleet.id}`, { method: 'PUT' }), 200);
  expect(await refusal(plan(byOperator!))).toEqual([403, 'delta_forbidden']);
  expect((await plan(byAdmin!)).status).toBe(200);
  await h.cp.app.get(DeltasService).idle();

  // A delta file: its digest is no secret (an operator's `flotilla delta` answers it).
  const digest = `sha256:${'9'.repeat(64)}`;
  const deltas = h.cp.app.get(DeltaRepository);
  await deltas.storeFile(digest, Buffer.from('patch'));
  const layer = { diffId: `sha256:${'7'.repeat(64)}`, blob: { digest: `sha256:${'8'.repeat(64)}`, size: 9 }, source: 'delta' as const };
  await deltas.finish(query, {
    manifest: `sha256:${'6'.repeat(64)}`,
    layers: [{ ...layer, base: layer.diffId, delta: { digest, size: 5 } }],
    deltaBytes: 5,
    fullBytes: 9,
  });
  const file = (d: RegisterDeviceResponse) => fetch(`${h.cp.httpUrl}${deviceDeltaBlobPath(digest)}`, { headers: basic(d) });
  expect(await refusal(file(byOperator!))).toEqual([403, 'delta_forbidden']);
  const served = await file(byAdmin!);
  expect([served.status, await served.text()]).toEqual([200, 'patch']);
  // The grant taken back: not even the admin's device gets it any more.
  await json(api(`/api/v1/registries/${registry}/grants/${fleet.id}`, { method: 'DELETE' }), 200);
  expect(await refusal(file(byAdmin!))).toEqual([403, 'delta_forbidden']);
  expect(await refusal(plan(byAdmin!))).toEqual([403, 'delta_forbidden']);
});
