import type {
  AuditEntryView,
  DeviceView,
  Page,
  RegisterDeviceResponse,
  ReleaseView,
  RolloutDeviceView,
  RolloutPlan,
  RolloutView,
} from '@flotilla/shared';
import { testImages } from '../../../test/setup/services';
import { startHarness, type Harness } from '../testing/harness';
import { RolloutEngine } from './rollout-engine';
import { SimDevice } from '../testing/sim-device';
import { apiClient, json, publishRelease, startSimFleet, until, type Api } from '../testing/sim-fleet';

jest.setTimeout(90_000);

let h: Harness;
let api: Api;
let v1: ReleaseView;
let v2: ReleaseView;
const sims: SimDevice[] = [];

beforeAll(async () => {
  h = await startHarness();
  api = apiClient(() => h.cp.httpUrl, h.cp.apiKey);
  v1 = await publishRelease(api, '1.0.0');
  v2 = await publishRelease(api, '2.0.0', `127.0.0.1:5000/flotilla/busybox@sha256:${'c'.repeat(64)}`);
});
afterAll(async () => {
  await Promise.all(sims.map((s) => s.stop()));
  await h?.close();
});

/** The compressed size of a single-platform image, read straight from the test registry. */
async function registryLayerBytes(ref: string): Promise<number> {
  const [, repository, digest] = /^127\.0\.0\.1:5000\/(.+)@(sha256:[0-9a-f]{64})$/.exec(ref)!;
  const res = await fetch(`http://127.0.0.1:5000/v2/${repository}/manifests/${digest}`, {
    headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' },
  });
  const manifest = (await res.json()) as { layers: { size: number }[] };
  return manifest.layers.reduce((sum, l) => sum + l.size, 0);
}

/** A fleet of simulated devices, all committed on v1 first (so "roll back all" has somewhere to go). */
async function fleetOnV1(
  count: number,
  behaviorOnV2: (i: number) => 'commit' | 'rollback' | 'hang' = () => 'commit',
): Promise<SimDevice[]> {
  const fleet = await startSimFleet(api, h.cp.mqttUrl, count, (i) => ({
    updateMs: 150,
    behavior: (desired) => (desired.release?.id === v2.id ? behaviorOnV2(i) : 'commit'),
  }));
  sims.push(...fleet);
  for (const d of fleet)
    await json(api(`/api/v1/devices/${d.deviceId}/release`, { method: 'PUT', body: JSON.stringify({ releaseId: v1.id }) }), 200);
  await until(async () => fleet.every((d) => d.activeReleaseId === v1.id), 30_000, 'every device on v1');
  // The devices table must show it too, since that is what the engine reads.
  await until(
    async () => {
      const views = await Promise.all(fleet.map((d) => json<DeviceView>(api(`/api/v1/devices/${d.deviceId}`))));
      return views.every((v) => v.reported?.update.active?.releaseId === v1.id && v.reported.update.phase === 'idle');
    },
    30_000,
    'v1 reported by every device',
  );
  return fleet;
}

const ids = (fleet: SimDevice[]) => fleet.map((d) => d.deviceId);

async function createRollout(body: object, headers: Record<string, string> = {}): Promise<Response> {
  return api('/api/v1/rollouts', { method: 'POST', body: JSON.stringify(body), headers });
}

async function rollout(id: string): Promise<RolloutView> {
  return json<RolloutView>(api(`/api/v1/rollouts/${id}`), 200);
}

async function waitStatus(id: string, status: RolloutView['status'], timeoutMs = 30_000): Promise<RolloutView> {
  return until(
    async () => {
      const r = await rollout(id);
      return r.status === status ? r : undefined;
    },
    timeoutMs,
    `rollout ${id} ${status}`,
  );
}

async function rolloutDevices(id: string): Promise<RolloutDeviceView[]> {
  return (await json<Page<RolloutDeviceView>>(api(`/api/v1/rollouts/${id}/devices?limit=500`), 200)).items;
}

describe('rollouts against simulated devices over MQTT', () => {
  it('a canary that rolls back pauses the rollout with its reason; the rest is untouched; roll back all re-targets v1', async () => {
    const fleet = await fleetOnV1(6, (i) => (i === 0 ? 'rollback' : 'commit'));
    // Device 0 is the canary: explicit group, so the test does not depend on ordering.
    const created = await json<RolloutView>(
      createRollout({
        releaseId: v2.id,
        selection: { deviceIds: ids(fleet) },
        phases: [{ deviceIds: [fleet[0]!.deviceId] }, { percent: 100 }],
      }),
      201,
    );
    const paused = await waitStatus(created.id, 'paused');
    expect(paused.statusReason).toContain('1 of 1 devices failed');
    expect(paused.statusReason).toContain('component "web" unhealthy');
    expect(paused.phases.map((p) => p.progress)).toEqual([
      { devices: 1, pending: 0, updating: 0, succeeded: 0, failed: 1, accepted: 0, waiting: 0 },
      { devices: 5, pending: 5, updating: 0, succeeded: 0, failed: 0, accepted: 0, waiting: 0 },
    ]);
    const canary = (await rolloutDevices(created.id)).find((d) => d.deviceId === fleet[0]!.deviceId)!;
    expect(canary).toMatchObject({ state: 'failed', reason: expect.stringContaining('unhealthy'), previousReleaseId: v1.id });
    for (const d of fleet.slice(1)) expect(d.received.some((x) => x.release?.id === v2.id)).toBe(false);

    const rolledBack = await json<RolloutView>(api(`/api/v1/rollouts/${created.id}/rollback`, { method: 'POST' }), 200);
    expect(rolledBack.status).toBe('rolled-back');
    expect(rolledBack.statusReason).toContain('re-targeted 1 device(s)');
    const view = await json<DeviceView>(api(`/api/v1/devices/${fleet[0]!.deviceId}`));
    expect(view.desired.releaseId).toBe(v1.id);
    // The canary is told: the state the rollback's assignment stored, over MQTT.
    await until(
      async () => fleet[0]!.received.some((x) => x.rev === view.desired.rev && x.release?.id === v1.id),
      15_000,
      'the canary told of its previous release',
    );
    // The audit log has the command with the rollout before and after.
    const audit = await json<Page<AuditEntryView>>(api(`/api/v1/audit?target=${created.id}`), 200);
    expect(audit.items[0]).toMatchObject({
      action: 'POST /api/v1/rollouts/:id/rollback',
      actor: { id: 'bootstrap', role: 'admin' },
      before: { status: 'paused' },
      after: { status: 'rolled-back' },
    });
  });

  it('success thresholds advance the phases: canary, then 50 %, then the rest, until completed', async () => {
    const fleet = await fleetOnV1(10);
    const created = await json<RolloutView>(
      createRollout({
        releaseId: v2.id,
        selection: { deviceIds: ids(fleet) },
        phases: [{ count: 1 }, { percent: 50, successThreshold: 80 }, { percent: 100 }],
      }),
      201,
    );
    expect(created.phases.map((p) => [p.name, p.progress.devices])).toEqual([
      ['canary (1)', 1],
      ['50 %', 4],
      ['100 %', 5],
    ]);
    const done = await waitStatus(created.id, 'completed');
    expect(done.totals).toEqual({ devices: 10, pending: 0, updating: 0, succeeded: 10, failed: 0, accepted: 0, waiting: 0 });
    expect(fleet.every((d) => d.activeReleaseId === v2.id)).toBe(true);
    // Phases ran in order: every device of a phase was assigned after the canary's.
    const devices = await rolloutDevices(created.id);
    const firstOf = (phase: number) => Math.min(...devices.filter((d) => d.phase === phase).map((d) => Date.parse(d.assignedAt!)));
    const canaryDone = Date.parse(devices.find((d) => d.phase === 0)!.finishedAt!);
    expect(firstOf(1)).toBeGreaterThanOrEqual(canaryDone);
    expect(firstOf(2)).toBeGreaterThan(firstOf(1));
  });

  it('manual advance waits after the canary; abort then leaves the rest untouched', async () => {
    const fleet = await fleetOnV1(5);
    const created = await json<RolloutView>(
      createRollout({
        releaseId: v2.id,
        selection: { deviceIds: ids(fleet) },
        phases: [{ count: 2 }, { percent: 100 }],
        advance: 'manual',
      }),
      201,
    );
    const waiting = await waitStatus(created.id, 'waiting');
    expect(waiting.phases[0]!.progress.succeeded).toBe(2);
    const aborted = await json<RolloutView>(api(`/api/v1/rollouts/${created.id}/abort`, { method: 'POST' }), 200);
    expect(aborted.status).toBe('aborted');
    // A whole engine pass that starts after the abort: had it assigned anyone, that is committed when it resolves.
    await h.cp.app.get(RolloutEngine).pass();
    const onV2 = fleet.filter((d) => d.activeReleaseId === v2.id);
    expect(onV2).toHaveLength(2);
    for (const d of fleet.filter((x) => x.activeReleaseId !== v2.id)) {
      expect((await json<DeviceView>(api(`/api/v1/devices/${d.deviceId}`))).desired.releaseId).toBe(v1.id);
    }
    expect((await api(`/api/v1/rollouts/${created.id}/resume`, { method: 'POST' })).status).toBe(409);
  });

  it('a device that joins the selection while the rollout runs gets the target release', async () => {
    const fleet = await fleetOnV1(3, (i) => (i === 0 ? 'hang' : 'commit'));
    const tag = `join-${Date.now()}`;
    for (const d of fleet.slice(0, 2))
      await json(api(`/api/v1/devices/${d.deviceId}/tags`, { method: 'PUT', body: JSON.stringify({ tags: [tag] }) }), 200);
    const created = await json<RolloutView>(
      createRollout({ releaseId: v2.id, selection: { tags: [tag] }, deviceTimeoutSeconds: 600 }),
      201,
    );
    expect(created.totals.devices).toBe(2);
    await until(async () => (await rollout(created.id)).totals.succeeded === 1, 30_000, 'the committing device succeeded');
    expect((await rollout(created.id)).status).toBe('running');
    const joiner = fleet[2]!;
    await json(api(`/api/v1/devices/${joiner.deviceId}/tags`, { method: 'PUT', body: JSON.stringify({ tags: [tag] }) }), 200);
    await until(async () => joiner.activeReleaseId === v2.id, 30_000, 'the joiner on v2');
    const joined = await until(
      async () => (await rolloutDevices(created.id)).find((d) => d.deviceId === joiner.deviceId && d.state === 'succeeded'),
      30_000,
      'the joiner recorded as succeeded',
    );
    expect(joined).toMatchObject({ joined: true, phase: 0 });
    await json(api(`/api/v1/rollouts/${created.id}/abort`, { method: 'POST' }), 200);
  });

  it('a device that never commits times out and counts as failed', async () => {
    const fleet = await fleetOnV1(1, () => 'hang');
    const created = await json<RolloutView>(
      createRollout({ releaseId: v2.id, selection: { deviceIds: ids(fleet) }, deviceTimeoutSeconds: 1 }),
      201,
    );
    const paused = await waitStatus(created.id, 'paused');
    expect((await rolloutDevices(created.id))[0]).toMatchObject({
      state: 'failed',
      reason: expect.stringContaining('timed out after 1 s'),
    });
    expect(paused.statusReason).toContain('timed out');
  });

  it('leaves pinned devices out of the selection', async () => {
    const fleet = await fleetOnV1(2);
    await json(api(`/api/v1/devices/${fleet[1]!.deviceId}/pin`, { method: 'PUT', body: JSON.stringify({ releaseId: v1.id }) }), 200);
    const created = await json<RolloutView>(createRollout({ releaseId: v2.id, selection: { deviceIds: ids(fleet) } }), 201);
    expect(created.totals.devices).toBe(1);
    await waitStatus(created.id, 'completed');
    expect(fleet.map((d) => d.activeReleaseId)).toEqual([v2.id, v1.id]);
  });

  it('replays a create with the same Idempotency-Key, refuses it for another request, refuses overlapping rollouts', async () => {
    const fleet = await fleetOnV1(2, () => 'hang');
    const body = { releaseId: v2.id, selection: { deviceIds: ids(fleet) } };
    const key = `key-${Date.now()}`;
    const first = await createRollout(body, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    const again = await createRollout(body, { 'idempotency-key': key });
    expect(again.status).toBe(200);
    expect(((await again.json()) as RolloutView).id).toBe(((await first.json()) as RolloutView).id);
    const other = await createRollout({ ...body, advance: 'manual' }, { 'idempotency-key': key });
    expect(other.status).toBe(409);
    expect(await other.json()).toMatchObject({ code: 'idempotency_key_reused' });
    const overlap = await createRollout(body);
    expect(overlap.status).toBe(409);
    expect(await overlap.json()).toMatchObject({ code: 'devices_in_active_rollout' });
  });

  it('plans without changing anything: phases, per-device changes, unknown sizes said so', async () => {
    const fleet = await fleetOnV1(3);
    const plan = await json<RolloutPlan>(
      api('/api/v1/rollouts/plan', {
        method: 'POST',
        body: JSON.stringify({ releaseId: v2.id, selection: { deviceIds: ids(fleet) }, phases: [{ count: 1 }, { percent: 100 }] }),
      }),
      200,
    );
    expect(plan.phases.map((p) => p.devices)).toEqual([1, 2]);
    expect(plan.devices[0]).toMatchObject({
      currentReleaseId: v1.id,
      currentVersion: '1.0.0',
      targetVersion: '2.0.0',
      alreadyOnTarget: false,
      changes: [{ component: 'web', change: 'image' }],
      imagesToFetch: [`127.0.0.1:5000/flotilla/busybox@sha256:${'c'.repeat(64)}`],
      osImage: null,
      downloadBytes: null,
      deltaDownloadBytes: null,
    });
    // These simulated devices sent no inventory: without an architecture, the size of a multi-arch image is unknown.
    expect(plan.notes).toEqual(['3 device(s) have not reported their architecture yet: their image sizes are unknown']);
    for (const d of fleet) expect(d.received.some((x) => x.release?.id === v2.id)).toBe(false);
  });

  it('plans how much each device downloads: image sizes from the registry for its architecture, plus the OS image for its board', async () => {
    const { busybox } = testImages();
    const osImage = {
      board: 'qemu-arm64-virt',
      version: '2.0.0',
      url: 'https://os.example/os.img',
      sha256: 'd'.repeat(64),
      size: 150_000_000,
    };
    const yaml = `name: with-os\nx-flotilla:\n  version: 1.0.0\n  os:\n    - ${JSON.stringify(osImage)}\nservices:\n  web:\n    image: ${busybox}\n`;
    const target = await json<ReleaseView>(
      api('/api/v1/releases', { method: 'POST', body: yaml, headers: { 'content-type': 'application/yaml' } }),
      201,
    );
    const token = await json<{ token: string }>(
      api('/api/v1/provisioning-tokens', { method: 'POST', body: JSON.stringify({ maxUses: 2 }) }),
      201,
    );
    const register = (name: string, board: string) =>
      json<RegisterDeviceResponse>(
        api('/api/v1/devices/register', { method: 'POST', key: null, body: JSON.stringify({ token: token.token, name, board }) }),
        201,
      );
    const onOs1 = await register('board-os1', 'qemu-arm64-virt');
    const otherBoard = await register('board-pi', 'raspberrypi5');
    for (const d of [onOs1, otherBoard]) {
      const sim = await new SimDevice({
        mqttUrl: h.cp.mqttUrl,
        deviceId: d.deviceId,
        password: d.password,
        inventory: true,
        os: { version: '1.0.0', slot: 'A', inTrial: false, phase: 'idle', target: null, lastFailure: null },
      }).start();
      sims.push(sim);
    }
    await until(
      async () => {
        const views = await Promise.all([onOs1, otherBoard].map((d) => json<DeviceView>(api(`/api/v1/devices/${d.deviceId}`))));
        return views.every((v) => v.inventory && v.reported);
      },
      30_000,
      'inventory and reports of both boards',
    );
    const plan = await json<RolloutPlan>(
      api('/api/v1/rollouts/plan', {
        method: 'POST',
        body: JSON.stringify({
          releaseId: target.id,
          selection: { deviceIds: [onOs1.deviceId, otherBoard.deviceId] },
          phases: [{ percent: 100 }],
        }),
      }),
      200,
    );
    const layers = await registryLayerBytes(busybox);
    const byName = new Map(plan.devices.map((d) => [d.name, d]));
    expect(byName.get('board-os1')).toMatchObject({
      imagesToFetch: [busybox],
      osImage: { version: '2.0.0', sizeBytes: 150_000_000 },
      downloadBytes: layers + 150_000_000,
      deltaDownloadBytes: layers + 150_000_000, // no delta computed
    });
    expect(byName.get('board-pi')).toMatchObject({ osImage: null, downloadBytes: layers });
    expect(plan.downloadBytes).toBe(2 * layers + 150_000_000);
    expect(plan.notes).toEqual([]);
  });

  it('lists rollouts newest first with a cursor, and validates input with field paths', async () => {
    const page1 = await json<Page<RolloutView>>(api('/api/v1/rollouts?limit=2'), 200);
    expect(page1.items).toHaveLength(2);
    expect(page1.nextCursor).not.toBeNull();
    const page2 = await json<Page<RolloutView>>(api(`/api/v1/rollouts?limit=2&cursor=${page1.nextCursor}`), 200);
    expect(page2.items.map((r) => r.id)).not.toContain(page1.items[0]!.id);
    expect(Date.parse(page2.items[0]!.createdAt)).toBeLessThanOrEqual(Date.parse(page1.items[1]!.createdAt));
    const bad = await createRollout({ releaseId: v2.id, selection: {} });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'invalid_request', issues: [expect.objectContaining({ path: 'selection' })] });
    expect((await api('/api/v1/rollouts/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});
