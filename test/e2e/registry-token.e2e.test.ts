import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  isRegistryToken,
  readSignedDesired,
  type CreatedOperatorKey,
  type DesiredGet,
  type DesiredStatement,
  type ProvisioningTokenView,
  type RegisterDeviceResponse,
  type RegistryToken,
  type RegistryTokenAuthView,
  type ReleaseView,
} from '@flotilla/shared';
import { DesiredGate } from '../../agent/src/admission/desired-gate';
import { WatermarkFile } from '../../agent/src/admission/watermark-file';
import { Agent } from '../../agent/src/agent';
import type { Uplink } from '../../agent/src/agent-deps';
import { TrustedKeyStore } from '../../agent/src/provisioning/trusted-key-store';
import { MqttLink } from '../../agent/src/link/mqtt-link';
import { PassThroughOutbox } from '../../agent/src/testing/pass-through-outbox';
import { DockerRuntime } from '../../agent/src/runtime/docker-runtime';
import { EngineClient } from '../../agent/src/runtime/engine-client';
import { LABEL } from '../../agent/src/runtime/labels';
import { systemClock, type Clock } from '../../agent/src/support/clock';
import { silentLogger } from '../../agent/src/support/logger';
import { ImageLedger } from '../../agent/src/update/image-ledger';
import { UpdateJournal } from '../../agent/src/update/journal';
import { registryFacts } from '../../agent/src/update/registry-facts';
import { startControlPlane, type RunningControlPlane } from '../../control-plane/src/bootstrap';
import { TOKEN_ISSUER_CERT_FILE } from '../../control-plane/src/registries/tokens/token-issuer';
import { ApiClient, type ApiResponse } from '../support/api-client';
import { startTokenRegistry, type TokenRegistry } from '../support/auth-registry';
import { createScratchDatabase, type ScratchDatabase } from '../support/database';
import { waitFor } from '../support/wait';

// End to end: the project's own registry (docker-registry with `auth.token` trusting the control
// plane's issuer certificate and asking its token realm, which CI's `docker login`/`push` with an
// operator key goes through), a device an OPERATOR key registered, and a real agent (in this
// process, real Docker Engine, real MQTT) that pulls with the pull token its desired state carries.
// The agent first sees its token as expired, as a device that was away would: it must ask for
// fresh tokens, not fail the update.

jest.setTimeout(120_000);

const run = randomBytes(3).toString('hex');
const adminKey = 'e2e-token-admin-key-0123456789abcdef';
const assembly = `tok${run}`;
const runtime = new DockerRuntime(EngineClient.fromEnv(), { scopeLabels: { 'io.flotilla.test-run': run } });

let workDir: string;
let db: ScratchDatabase;
let cp: RunningControlPlane;
let registry: TokenRegistry;
let admin: ApiClient;
let operatorKey: string;
let marked: ApiResponse<RegistryTokenAuthView>;
let image: string;
let agent: Agent | undefined;
let link: MqttLink | undefined;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'flotilla-e2e-token-'));
  db = await createScratchDatabase('e2e_token');
  cp = await startControlPlane({
    host: '127.0.0.1',
    port: 0,
    mqttPort: 0,
    databaseUrl: db.url,
    dataDir: join(workDir, 'cp'),
    apiKey: adminKey,
  });
  // The registry trusts the control plane's issuer and asks its realm; the image is pushed as CI
  // would: `docker login` with an operator key, the engine fetching a push token from the realm.
  admin = new ApiClient(cp.httpUrl, adminKey);
  operatorKey = (await admin.post<CreatedOperatorKey>('/api/v1/operators/keys', { name: 'ops', role: 'operator' })).body.key;
  registry = await startTokenRegistry({
    rootCertificatePem: readFileSync(join(cp.dataDir, TOKEN_ISSUER_CERT_FILE), 'utf8'),
    issuer: 'flotilla',
    realm: `${cp.httpUrl}/api/v1/registry-token`,
    pushLogin: { username: 'ci', password: operatorKey },
  });
  marked = await admin.put<RegistryTokenAuthView>(`/api/v1/registries/${registry.host}/token-auth`, { ttlSeconds: 600 });
  image = await registry.pushUniqueImage(`flotilla-e2e/${assembly}`);
});

afterAll(async () => {
  await agent?.stop();
  await link?.stop();
  for (const c of await runtime.listContainers()) await runtime.remove(c.name);
  for (const n of await runtime.listNetworks()) await runtime.removeNetwork(n.name);
  if (image) await runtime.removeImage(image).catch(() => undefined);
  await registry?.stop();
  await cp?.close();
  await db?.drop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

it('a device an operator registered pulls from the token-issued registry with a scoped pull token, refreshed when it expired', async () => {
  expect(marked.status).toBe(200);
  expect(marked.body).toMatchObject({ registry: registry.host, service: registry.host, issuer: 'flotilla', ttlSeconds: 600 });
  expect(marked.body.rootCertificate).toBe(readFileSync(join(cp.dataDir, TOKEN_ISSUER_CERT_FILE), 'utf8'));
  expect(marked.body.registryConfig).toContain(`service: "${registry.host}"`);

  const operator = new ApiClient(cp.httpUrl, operatorKey);
  const token = (await operator.post<ProvisioningTokenView>('/api/v1/provisioning-tokens', { maxUses: 1 })).body.token;
  const device = (await operator.post<RegisterDeviceResponse>('/api/v1/devices/register', { token, name: 'token-puller' })).body;

  // The agent's clock runs 20 minutes ahead until it asks for fresh tokens: the first desired
  // state is still fresh to it (signed statements live an hour), but its 10-minute tokens have run
  // out, as for a device that was away; the refreshed ones are then judged on time.
  let skewMs = 20 * 60_000;
  const clock: Clock = { now: () => new Date(Date.now() + skewMs), sleep: systemClock.sleep };
  const received: DesiredStatement[] = [];
  const refreshes: number[] = [];
  const agentDir = mkdtempSync(join(workDir, 'agent-'));
  const trust = await TrustedKeyStore.open({ stateDir: agentDir, pinned: device.releaseKeys, logger: silentLogger });
  const started: Agent = new Agent({
    deviceId: device.deviceId,
    runtime,
    journal: new UpdateJournal(agentDir),
    ledger: new ImageLedger(agentDir),
    clock,
    logger: silentLogger,
    releaseKeys: trust,
    gate: new DesiredGate({
      deviceId: device.deviceId,
      trust,
      watermark: new WatermarkFile(agentDir),
      clock,
      heldRev: () => started.heldRev(),
    }),
    board: undefined,
    freeDiskBytes: async () => Number.MAX_SAFE_INTEGER,
    imageFacts: (ref, arch, auth) => registryFacts(ref, arch, auth),
    collectInventory: async () => ({ schema: 1, at: new Date().toISOString() }) as never,
    outbox: new PassThroughOutbox(),
    sampleTelemetry: async () => ({ at: new Date().toISOString(), cpuPercent: 0, memUsedBytes: 0, memTotalBytes: 1 }),
    settings: { healthTimeoutMs: 10_000, healthPollMs: 200, gatePollMs: 200, reportIntervalMs: 60_000, reconcileIntervalMs: 600_000 },
  });
  agent = started;
  const mqtt = new MqttLink({
    credential: { deviceId: device.deviceId, password: device.password, mqttUrl: cp.mqttUrl },
    logger: silentLogger,
    heldRev: () => started.heldRev(),
    onDesired: (payload) => {
      const read = readSignedDesired(payload);
      if (read.ok) received.push(read.statement);
      void started.receive(payload);
    },
    onCommand: async () => undefined,
    onConnect: () => started.onConnected(),
  });
  link = mqtt;
  const uplink: Uplink = {
    get connected() {
      return mqtt.connected;
    },
    publish(channel, value) {
      if (channel === 'desired/get' && (value as DesiredGet).refresh) {
        refreshes.push((value as DesiredGet).rev);
        skewMs = 0;
      }
      mqtt.publish(channel, value);
    },
  };
  await started.start(uplink);
  mqtt.start();

  const release = await operator.post<ReleaseView>(
    '/api/v1/releases',
    `name: ${assembly}\nx-flotilla: { version: 1.0.0, update: { probation: 1s } }\nservices:\n  app: { image: "${image}", command: sleep 3600 }\n`,
    'application/yaml',
  );
  expect(release.status).toBe(201);
  const assigned = await operator.put<{ desired: { rev: number } }>(`/api/v1/devices/${device.deviceId}/release`, {
    releaseId: release.body.id,
  });
  const rev = assigned.body.desired.rev;

  await waitFor(
    'the release to run',
    async () => {
      const s = started.updater.current;
      return s.phase === 'idle' && (s.active?.rev === rev || s.failedRev === rev) ? s : undefined;
    },
    90_000,
  );
  expect(started.updater.current).toMatchObject({ phase: 'idle', active: { rev }, failedRev: null });
  const containers = await runtime.listContainers();
  expect(containers.map((c) => [c.labels[LABEL.component], c.image, c.state])).toEqual([['app', image, 'running']]);

  // What the device was given: a pull token for exactly the release's repository, no password; then a fresh one for the same rev.
  const forRev = received.filter((d) => d.rev === rev);
  const first = tokenOf(forRev[0]!);
  expect(claims(first)).toMatchObject({
    iss: 'flotilla',
    sub: device.deviceId,
    aud: registry.host,
    access: [{ type: 'repository', name: `flotilla-e2e/${assembly}`, actions: ['pull'] }],
  });
  // Ten minutes from when it was signed (JWT times are whole seconds).
  expect(Math.abs(Date.parse(first.expiresAt) - Date.parse(forRev[0]!.issuedAt) - 600_000)).toBeLessThan(1_000);
  expect(refreshes).toEqual([rev]);
  expect(forRev.length).toBeGreaterThanOrEqual(2);
  const fresh = tokenOf(forRev.at(-1)!);
  expect(fresh.token).not.toBe(first.token);
  expect(JSON.stringify(received)).not.toMatch(/password/);

  // The agent reads manifests with the same token (VERIFY's size check); without it the registry tells nothing.
  const platform = (await runtime.engineInfo()).platform;
  expect((await registryFacts(image, platform, fresh)).sizeBytes).toBeGreaterThan(0);
  expect(await registryFacts(image, platform)).toEqual({});
});

function tokenOf(desired: DesiredStatement): RegistryToken {
  const auth = desired.registryAuth?.find(isRegistryToken);
  if (!auth) throw new Error(`no registry token in desired rev ${desired.rev}`);
  return auth;
}

function claims(token: RegistryToken): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}
