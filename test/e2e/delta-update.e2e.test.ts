import Docker from 'dockerode';
import type { DeviceEventView, DeviceView, FleetView, ImageDelta, ProvisioningTokenView, ReleaseView, RolloutPlan } from '@flotilla/shared';
import type { RunningControlPlane } from '../../control-plane/src/bootstrap';
import { run } from '../../cli/src/main';
import { AgentProcess } from '../support/agent-process';
import { ApiClient } from '../support/api-client';
import { startE2eStack, stopE2eStack, type E2eStack } from '../support/e2e-stack';
import { deriveImage, originImage, type DerivedImage } from '../support/derived-image';
import { waitFor } from '../support/wait';

// End to end, issue 18 item 3: origin's mqtt-broker 1.0.0 → a 1.0.1 that changes one file in one
// layer. The control plane computes the delta from the real registry, the real agent rebuilds the
// layer, loads it into the real engine, and runs exactly the release's image; a corrupted delta
// is caught and replaced by a full pull, with an event.

jest.setTimeout(180_000);

const docker = new Docker();
const apiKey = 'e2e-delta-key-0123456789abcdef0123';
const assemblyName = `e2e-delta-${Date.now().toString(36)}`;
const from = originImage('mqtt-broker');

let stack: E2eStack | undefined;
let cp: RunningControlPlane;
let api: ApiClient;
let agent: AgentProcess | undefined;
let workDir: string;
let v101: DerivedImage;
let v102: DerivedImage;

beforeAll(async () => {
  const file = 'usr/local/bin/mqtt-broker-start';
  v101 = await deriveImage(from, { layer: 2, file, append: '# 1.0.1: tuned\n' }, 'e2e-delta-1.0.1');
  v102 = await deriveImage(from, { layer: 2, file, append: '# 1.0.2: tuned again\n' }, 'e2e-delta-1.0.2');
  // The engine must not hold them from an earlier run, or nothing would be fetched at all.
  for (const image of [v101, v102]) await removeImage(image.configDigest);
  stack = await startE2eStack('delta', apiKey);
  ({ cp, api, workDir } = stack);
});

afterAll(async () => {
  await agent?.dispose();
  await stopE2eStack(stack);
  for (const image of [v101, v102]) if (image) await removeImage(image.configDigest);
});

async function removeImage(id: string): Promise<void> {
  await docker
    .getImage(id)
    .remove({ force: true })
    .catch(() => undefined);
}

function release(version: string, image: string): string {
  return `name: ${assemblyName}\nx-flotilla: { version: ${version}, update: { probation: 1s } }\nservices:\n  broker: { image: "${image}" }\n`;
}

async function publish(version: string, image: string): Promise<ReleaseView> {
  const published = await api.post<ReleaseView>('/api/v1/releases', release(version, image), 'application/yaml');
  expect(published.status).toBe(201);
  return published.body;
}

async function publishAndAssign(deviceId: string, version: string, image: string): Promise<number> {
  const published = await publish(version, image);
  const assigned = await api.put<DeviceView>(`/api/v1/devices/${deviceId}/release`, { releaseId: published.id });
  expect(assigned.status).toBe(200);
  return assigned.body.desired.rev;
}

function runs(deviceId: string, rev: number, what: string): Promise<DeviceView> {
  return waitFor(
    what,
    async () => {
      const d = (await api.get<DeviceView>(`/api/v1/devices/${deviceId}`)).body;
      const u = d.reported?.update;
      if (u?.failedRev === rev) throw new Error(`rev ${rev} failed: ${u.lastFailure}\n${agent?.logs ?? ''}`);
      return u?.phase === 'idle' && u.active?.rev === rev ? d : undefined;
    },
    90_000,
    500,
  );
}

async function events(deviceId: string, kind: string): Promise<DeviceEventView[]> {
  const res = await api.get<DeviceEventView[]>(`/api/v1/dashboard/devices/${deviceId}/events?limit=100`);
  return res.body.filter((e) => e.kind === kind);
}

/** The engine's image is the release's: config digest as id, the manifest digest recorded, every layer's diff_id. */
async function expectExactImage(image: DerivedImage): Promise<void> {
  const inspected = await docker.getImage(image.ref).inspect();
  expect(inspected.Id).toBe(image.configDigest);
  expect(inspected.RepoDigests).toContain(image.ref);
  expect(inspected.RootFS.Layers).toEqual(image.diffIds);
}

it('moves 1.0.0 → 1.0.1 by a delta of one layer, then replaces a corrupted delta by a full pull', async () => {
  const fleet = await api.post<FleetView>('/api/v1/fleets', { name: `delta-${assemblyName}` });
  const token = await api.post<ProvisioningTokenView>(`/api/v1/fleets/${fleet.body.id}/provisioning-tokens`, { maxUses: 1 });
  agent = AgentProcess.provisioned(workDir, { ...token.body.provisioning, name: assemblyName });
  const online = await waitFor(
    'the agent to come online',
    async () => (await api.get<{ items: DeviceView[] }>(`/api/v1/devices?search=${assemblyName}`)).body.items.find((d) => d.online),
    60_000,
  );
  await runs(online.id, await publishAndAssign(online.id, '1.0.0', from), '1.0.0 to run');

  // CI's `flotilla delta` step: computed once, before any device asks.
  const out: string[] = [];
  const io = { out: (line: string) => out.push(line), err: (line: string) => out.push(line), write: () => undefined, isTTY: false };
  const env = { FLOTILLA_API: cp.httpUrl, FLOTILLA_API_KEY: apiKey, HOME: workDir };
  expect(await run(['delta', from, v101.ref, '--arch', 'amd64', '--json'], env, io)).toBe(0);
  const [computed] = JSON.parse(out.join('\n')) as ImageDelta[];
  expect(computed).toMatchObject({ status: 'ready', error: null });
  expect(computed!.layers.map((l) => l.source)).toEqual(['held', 'held', 'delta']);
  const { deltaBytes, fullBytes } = computed as { deltaBytes: number; fullBytes: number };
  expect(deltaBytes * 100).toBeLessThan(fullBytes);

  // The dry run shows what the device downloads with and without the delta.
  const v101Release = await publish('1.0.1', v101.ref);
  const plan = await api.post<RolloutPlan>('/api/v1/rollouts/plan', { releaseId: v101Release.id, selection: { deviceIds: [online.id] } });
  expect(plan.status).toBe(200);
  expect(plan.body.devices[0]).toMatchObject({ deltaDownloadBytes: deltaBytes });
  expect(plan.body.devices[0]!.downloadBytes).toBeGreaterThanOrEqual(fullBytes);

  const assigned = await api.put<DeviceView>(`/api/v1/devices/${online.id}/release`, { releaseId: v101Release.id });
  await runs(online.id, assigned.body.desired.rev, '1.0.1 to run');
  const [applied] = await events(online.id, 'update-delta-applied');
  expect(applied?.message).toContain(`${v101.ref} rebuilt from deltas`);
  const downloaded = Number(/downloaded (\d+) bytes/.exec(applied!.message)![1]);
  expect(downloaded).toBeLessThan(deltaBytes + 8 * 1024); // the delta, the manifest and the config
  expect(await events(online.id, 'update-delta-fallback')).toEqual([]);
  await expectExactImage(v101);
  console.log(`delta e2e: 1.0.0 → 1.0.1 downloaded ${downloaded} bytes (delta ${deltaBytes}) instead of ${fullBytes} for a full pull`);

  // A delta corrupted where the control plane keeps it: the agent detects it and pulls the whole image.
  const corrupt = await api.post<ImageDelta>('/api/v1/deltas', { from: v101.ref, to: v102.ref, architecture: 'amd64' });
  const digest = corrupt.body.layers.find((l) => l.source === 'delta')!.delta!.digest;
  await stack!.db.query('UPDATE delta_files SET bytes = $2 WHERE digest = $1', [digest, Buffer.alloc(corrupt.body.deltaBytes!, 0x42)]);
  await runs(online.id, await publishAndAssign(online.id, '1.0.2', v102.ref), '1.0.2 to run after a full pull');
  const [fallback] = await events(online.id, 'update-delta-fallback');
  expect(fallback?.message).toMatch(/corrupt.*pulling the whole image/);
  await expectExactImage(v102);
});
