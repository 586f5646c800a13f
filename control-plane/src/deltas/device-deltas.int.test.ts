import { deviceDeltaBlobPath, DEVICE_DELTA_PATH, type DeviceView, type ImageDelta } from '@flotilla/shared';
import { startHarness, type Harness } from '../testing/harness';
import { apiClient, json, publishRelease, registerDevices, type Api } from '../testing/sim-fleet';
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
