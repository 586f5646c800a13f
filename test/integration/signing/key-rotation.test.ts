import { minimalComponent } from '@flotilla/shared';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Desired, ReleaseView, SigningKeysView } from '@flotilla/shared';
import { DesiredGate } from '../../../agent/src/admission/desired-gate';
import { WatermarkFile } from '../../../agent/src/admission/watermark-file';
import { Agent } from '../../../agent/src/agent';
import { MqttLink } from '../../../agent/src/link/mqtt-link';
import { EventOutbox } from '../../../agent/src/link/outbox';
import { LEARNED_KEYS_FILE, TrustedKeyStore } from '../../../agent/src/provisioning/trusted-key-store';
import { DockerRuntime } from '../../../agent/src/runtime/docker-runtime';
import { EngineClient } from '../../../agent/src/runtime/engine-client';
import { systemClock } from '../../../agent/src/support/clock';
import { silentLogger } from '../../../agent/src/support/logger';
import { pushUniqueImage } from '../../../agent/src/testing/images';
import { endorseKey, signedDesired, testSigner } from '../../../agent/src/testing/releases';
import { ImageLedger } from '../../../agent/src/update/image-ledger';
import { UpdateJournal } from '../../../agent/src/update/journal';
import { registryFacts } from '../../../agent/src/update/registry-facts';
import { eventually, startHarness, type Harness } from '../../../control-plane/src/testing/harness';

/**
 * A device provisioned before the control plane rotated its release-signing key learns the
 * new key from the endorsement chain in `desired`, and commits releases signed by it, without
 * re-provisioning. Real control plane (PostgreSQL, HTTP), the agent's real MQTT link over TCP
 * to its broker, and the real Docker Engine pulling from the local registry.
 */
jest.setTimeout(120_000);

const run = randomBytes(3).toString('hex');
const runtime = new DockerRuntime(EngineClient.fromEnv(), { scopeLabels: { 'io.flotilla.test-run': run } });
const assembly = `keyrot${run}`;

let h: Harness;
let stateDir: string;
let image: string;
let device: { deviceId: string; password: string; pinned: { keyId: string; publicKey: string }[] };
let running: { agent: Agent; link: MqttLink; keys: TrustedKeyStore } | undefined;

beforeAll(async () => {
  [h, stateDir, image] = await Promise.all([
    startHarness(),
    mkdtemp(join(tmpdir(), 'flotilla-keyrot-')),
    pushUniqueImage(`flotilla-test/keyrot${run}`),
  ]);
  // Provisioned now, with the only key there is: the device pins it.
  const registered = await h.registerDevice('key-rotation');
  device = { deviceId: registered.deviceId, password: registered.password, pinned: registered.releaseKeys };
});

afterAll(async () => {
  await stopDevice();
  for (const c of await runtime.listContainers()) await runtime.remove(c.name);
  for (const n of await runtime.listNetworks()) await runtime.removeNetwork(n.name);
  if (image) await runtime.removeImage(image).catch(() => undefined);
  await h?.close();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

/** The agent as `main.ts` wires it: trusted keys from the state directory, the desired gate, MQTT to the control plane. */
async function startDevice(): Promise<NonNullable<typeof running>> {
  const keys = await TrustedKeyStore.open({ stateDir, pinned: device.pinned, logger: silentLogger });
  const outbox = new EventOutbox(stateDir);
  await outbox.load();
  const agent: Agent = new Agent({
    deviceId: device.deviceId,
    gate: new DesiredGate({
      deviceId: device.deviceId,
      trust: keys,
      watermark: new WatermarkFile(stateDir),
      clock: systemClock,
      heldRev: () => agent.heldRev(),
    }),
    runtime,
    journal: new UpdateJournal(stateDir),
    ledger: new ImageLedger(stateDir),
    clock: systemClock,
    logger: silentLogger,
    releaseKeys: keys,
    board: undefined,
    freeDiskBytes: async () => Number.MAX_SAFE_INTEGER,
    imageFacts: (ref, arch) => registryFacts(ref, arch),
    collectInventory: async () => {
      throw new Error('not in this test');
    },
    outbox,
    sampleTelemetry: async () => ({ at: new Date().toISOString(), cpuPercent: 0, memUsedBytes: 0, memTotalBytes: 1 }),
    settings: { healthTimeoutMs: 10_000, healthPollMs: 200, gatePollMs: 200, reportIntervalMs: 60_000, reconcileIntervalMs: 600_000 },
  });
  const link = new MqttLink({
    credential: { deviceId: device.deviceId, password: device.password, mqttUrl: h.cp.mqttUrl },
    logger: silentLogger,
    heldRev: () => agent.heldRev(),
    onDesired: (payload) => void agent.receive(payload),
    onCommand: (payload) => agent.receiveCommand(payload),
    onConnect: () => agent.onConnected(),
  });
  await agent.start(link);
  link.start();
  running = { agent, link, keys };
  return running;
}

async function stopDevice(): Promise<void> {
  if (!running) return;
  await running.agent.stop();
  await running.link.stop();
  running = undefined;
}

async function api<T>(method: string, path: string, body?: string, contentType = 'application/json'): Promise<T> {
  const res = await h.api(path, { method, ...(body !== undefined ? { body, headers: { 'content-type': contentType } } : {}) });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function publishAndAssign(version: string): Promise<ReleaseView> {
  const manifest = `name: ${assembly}\nx-flotilla: { version: ${version}, update: { probation: 1s } }\nservices:\n  app: { image: "${image}", command: ["sleep", "3600"] }\n`;
  const release = await api<ReleaseView>('POST', '/api/v1/releases', manifest, 'application/yaml');
  await api('PUT', `/api/v1/devices/${device.deviceId}/release`, JSON.stringify({ releaseId: release.id }));
  return release;
}

async function committed(agent: Agent, releaseId: string): Promise<void> {
  await eventually(
    async () => agent.updater.current.phase === 'idle' && agent.updater.current.active?.release?.id === releaseId,
    60_000,
    `release ${releaseId} committed (now ${JSON.stringify(agent.updater.status())})`,
  );
}

async function eventsOf(kind: string): Promise<string[]> {
  const rows = await h.db.query<{ message: string }>('SELECT message FROM device_events WHERE device_id = $1 AND kind = $2 ORDER BY id', [
    device.deviceId,
    kind,
  ]);
  return rows.map((r) => r.message);
}

describe('release-signing key rotation reaches provisioned devices', () => {
  it('a device pinned to the old key learns the rotated key from desired and commits a release signed by it', async () => {
    expect(device.pinned).toHaveLength(1);
    const [k1] = device.pinned;
    const rotated = await api<SigningKeysView>('POST', '/api/v1/signing-keys/rotate');
    const k2 = rotated.keys.at(-1)!;
    expect(rotated.keys.map((k) => k.keyId)).toEqual([k1!.keyId, k2.keyId]);

    const { agent, keys } = await startDevice();
    const release = await publishAndAssign('1.0.0');
    expect(release.signature.keyId).toBe(k2.keyId);
    await committed(agent, release.id);

    expect(keys.keys().map((k) => k.keyId)).toEqual([k1!.keyId, k2.keyId]);
    const stored = JSON.parse(await readFile(join(stateDir, LEARNED_KEYS_FILE), 'utf8')) as { keys: { keyId: string }[] };
    expect(stored.keys.map((k) => k.keyId)).toEqual([k2.keyId]);
    await eventually(async () => (await eventsOf('release-key-added')).length === 1, 5_000, 'release-key-added event stored');
    expect((await eventsOf('release-key-added'))[0]).toContain(`${k2.keyId}, endorsed by ${k1!.keyId}`);
    expect(await eventsOf('update-refused')).toEqual([]);
  });

  it('after a restart the learned key is still trusted, and the next rotation is learned from it', async () => {
    await stopDevice();
    const reopened = await TrustedKeyStore.open({ stateDir, pinned: device.pinned, logger: silentLogger });
    const k2 = reopened.keys()[1]!;
    expect(reopened.keys()).toHaveLength(2);

    const k3 = (await api<SigningKeysView>('POST', '/api/v1/signing-keys/rotate')).keys.at(-1)!;
    const { agent, keys } = await startDevice();
    const release = await publishAndAssign('2.0.0');
    expect(release.signature.keyId).toBe(k3.keyId);
    await committed(agent, release.id);
    expect(keys.keys().map((k) => k.keyId)).toEqual([device.pinned[0]!.keyId, k2.keyId, k3.keyId]);
    await eventually(async () => (await eventsOf('release-key-added')).length === 2, 5_000, 'second release-key-added event');
    // The chain is a checkpoint: k3 endorsed by k1 and by k2; the device follows the first it trusts.
    expect((await eventsOf('release-key-added'))[1]).toContain(`${k3.keyId}, endorsed by ${device.pinned[0]!.keyId}`);
  });

  it('still refuses a release signed by an unknown key whose endorsement chains to no trusted key', async () => {
    const agent = running!.agent;
    const before = agent.updater.current.active;
    const [stranger, accomplice] = [testSigner(), testSigner()];
    const forged: Desired = {
      ...signedDesired(stranger, agent.heldRev() + 100, [minimalComponent('app', image, { command: ['sleep', '3600'] })], {
        name: assembly,
      }),
      keyEndorsements: [endorseKey(stranger.key, accomplice)],
    };
    agent.desire(forged);
    await agent.updater.settled();
    expect(agent.updater.current).toMatchObject({ phase: 'idle', failedRev: forged.rev, active: before });
    expect(agent.updater.current.lastFailure).toContain(`signed by key ${stranger.key.keyId}, which this device does not trust`);
    expect(running!.keys.keys()).toHaveLength(3);
    await eventually(async () => (await eventsOf('release-key-refused')).length === 1, 5_000, 'release-key-refused event stored');
    expect((await eventsOf('release-key-refused'))[0]).toContain(
      `endorsed by key ${accomplice.key.keyId}, which this device does not trust`,
    );
    await eventually(async () => (await eventsOf('update-refused')).length === 1, 5_000, 'update-refused event stored');
  });
});
