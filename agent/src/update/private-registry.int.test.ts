import { minimalComponent } from '@flotilla/shared';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RegistryAuth } from '@flotilla/shared';
import { startAuthRegistry, type AuthRegistry } from '../../../test/support/auth-registry';
import { Agent } from '../agent';
import type { Uplink } from '../agent-deps';
import { DockerRuntime } from '../runtime/docker-runtime';
import { EngineClient } from '../runtime/engine-client';
import { LABEL } from '../runtime/labels';
import { systemClock } from '../support/clock';
import { silentLogger } from '../support/logger';
import { pushUniqueImage } from '../testing/images';
import { PassThroughOutbox } from '../testing/pass-through-outbox';
import { signedDesired, testSigner } from '../testing/releases';
import { ImageLedger } from './image-ledger';
import { UpdateJournal } from './journal';
import { registryFacts } from './registry-facts';
import { RecordingUplink } from '../testing/recording-uplink';

/**
 * Integration: pulls from a registry that wants a login (Debian's docker-registry with
 * htpasswd, started by this test on a port of its own), with the login carried in the
 * desired envelope as the control plane sends it. Real Docker Engine throughout.
 */
jest.setTimeout(90_000);

const run = randomBytes(3).toString('hex');
const runtime = new DockerRuntime(EngineClient.fromEnv(), { scopeLabels: { 'io.flotilla.test-run': run } });
const signer = testSigner();
const assembly = `pr${run}`;
const SERVE = ['sh', '-c', 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www'];

let registry: AuthRegistry;
let login: RegistryAuth;
let publicImage: string;
let privateImage: string;
let laterImage: string;
let dir: string;
const agents: Agent[] = [];
const facts: { ref: string; auth: string | undefined; sizeBytes: number | undefined }[] = [];

function startAgent(stateDir: string, uplink: Uplink): Promise<Agent> {
  const agent = new Agent({
    deviceId: 'dev_private',
    runtime,
    journal: new UpdateJournal(stateDir),
    ledger: new ImageLedger(stateDir),
    clock: systemClock,
    logger: silentLogger,
    releaseKeys: [signer.key],
    board: undefined,
    freeDiskBytes: async () => Number.MAX_SAFE_INTEGER,
    imageFacts: async (ref, arch, auth) => {
      const found = await registryFacts(ref, arch, auth);
      facts.push({ ref, auth: auth && 'username' in auth ? auth.username : undefined, sizeBytes: found.sizeBytes });
      return found;
    },
    collectInventory: async () => {
      throw new Error('not in this test');
    },
    outbox: new PassThroughOutbox(),
    sampleTelemetry: async () => ({ at: new Date().toISOString(), cpuPercent: 0, memUsedBytes: 0, memTotalBytes: 1 }),
    settings: { healthTimeoutMs: 5_000, healthPollMs: 200, gatePollMs: 200, reportIntervalMs: 60_000, reconcileIntervalMs: 600_000 },
  });
  agents.push(agent);
  return agent.start(uplink).then(() => agent);
}

beforeAll(async () => {
  registry = await startAuthRegistry();
  login = { registry: registry.host, username: registry.username, password: registry.password };
  [publicImage, privateImage, laterImage] = await Promise.all([
    pushUniqueImage(`flotilla-test/pr${run}-public`),
    registry.pushUniqueImage(`flotilla-test/pr${run}-private`),
    registry.pushUniqueImage(`flotilla-test/pr${run}-later`),
  ]);
  dir = await mkdtemp(join(tmpdir(), 'flotilla-private-registry-'));
});

afterAll(async () => {
  for (const agent of agents) await agent.stop();
  for (const c of await runtime.listContainers()) await runtime.remove(c.name);
  for (const n of await runtime.listNetworks()) await runtime.removeNetwork(n.name);
  for (const image of [publicImage, privateImage, laterImage]) if (image) await runtime.removeImage(image);
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function engineView(): Promise<string[]> {
  const name = (image: string) =>
    image === publicImage ? 'public' : image === privateImage ? 'private' : image === laterImage ? 'later' : image;
  return (await runtime.listContainers()).map((c) => `${c.labels[LABEL.component]}:${name(c.image)}:${c.state}`).sort();
}

const web = (image: string, update: 'download-then-switch' | 'switch-then-download' = 'download-then-switch') =>
  minimalComponent('web', image, { command: SERVE, update });

async function update(agent: Agent, rev: number, image: string, registryAuth?: RegistryAuth[], update?: Parameters<typeof web>[1]) {
  agent.desire({
    ...signedDesired(signer, rev, [web(image, update)], { name: assembly, probationMs: 500 }),
    ...(registryAuth ? { registryAuth } : {}),
  });
  await agent.updater.settled();
  return agent.updater.current;
}

describe('pulling from a registry that wants a login', () => {
  let agent: Agent;
  let uplink: RecordingUplink;

  beforeAll(async () => {
    uplink = new RecordingUplink();
    agent = await startAgent(join(dir, 'device'), uplink);
    expect(await update(agent, 1, publicImage)).toMatchObject({ phase: 'idle', active: { rev: 1 } });
    expect(await engineView()).toEqual(['web:public:running']);
  });

  it('reads the manifest only with the login: sizes are known with it, unknown without', async () => {
    const platform = (await runtime.engineInfo()).platform;
    const withLogin = await registryFacts(privateImage, platform, login);
    expect(withLogin.sizeBytes).toBeGreaterThan(0);
    expect(withLogin.platforms?.map((p) => p.architecture)).toEqual([platform.architecture]);
    expect(await registryFacts(privateImage, platform)).toEqual({});
    expect(await registryFacts(privateImage, platform, { ...login, password: 'wrong' })).toEqual({});
  });

  it('without a login, FETCH fails at once naming the registry and what to do, and the old slot keeps running', async () => {
    const state = await update(agent, 2, privateImage);
    expect(state).toMatchObject({ phase: 'idle', active: { rev: 1 }, candidate: null, failedRev: 2 });
    expect(state.lastFailure).toContain(`registry ${registry.host} refused to serve image ${privateImage}`);
    expect(state.lastFailure).toContain(`this device has no credentials for ${registry.host}`);
    expect(state.lastFailure).toContain(`sets credentials with PUT /api/v1/registries/${registry.host}/credentials`);
    expect(uplink.events('update-refused').at(-1)).toMatchObject({
      rev: 2,
      phase: 'fetch',
      message: expect.stringContaining('PUT /api/v1/registries/'),
    });
    expect(await engineView()).toEqual(['web:public:running']);
    expect(await runtime.hasImage(privateImage)).toBe(false);
  });

  it('with a wrong password, FETCH fails the same way and says the login was refused', async () => {
    const state = await update(agent, 3, privateImage, [{ ...login, password: 'not-the-password' }]);
    expect(state).toMatchObject({ phase: 'idle', active: { rev: 1 }, failedRev: 3 });
    expect(state.lastFailure).toContain(`the credentials or token this device was given for ${registry.host} were refused`);
    expect(await engineView()).toEqual(['web:public:running']);
  });

  it('with the right login, the update pulls by digest and commits; VERIFY knew the image size', async () => {
    const state = await update(agent, 4, privateImage, [login, { registry: 'other.example.com', username: 'x', password: 'y' }]);
    expect(state.lastFailure).toBeNull();
    expect(state).toMatchObject({ phase: 'idle', active: { rev: 4 }, failedRev: 3 });
    expect(await engineView()).toEqual(['web:private:running']);
    expect(facts.filter((f) => f.ref === privateImage).at(-1)).toMatchObject({ auth: registry.username, sizeBytes: expect.any(Number) });
    expect(uplink.events('update-committed').map((e) => e.rev)).toEqual([1, 4]);
  });

  it('a switch-then-download component pulls with the login during SWITCH too', async () => {
    const state = await update(agent, 5, laterImage, [login], 'switch-then-download');
    expect(state).toMatchObject({ phase: 'idle', active: { rev: 5 }, lastFailure: null });
    expect(await engineView()).toEqual(['web:later:running']);
  });

  it('keeps the login only in the journal, which only its owner can read (0600)', async () => {
    const journal = join(dir, 'device', 'update-journal.json');
    expect((await stat(journal)).mode & 0o777).toBe(0o600);
    expect(await readFile(journal, 'utf8')).toContain(registry.host);
  });
});

describe('an agent restarted during FETCH', () => {
  it('resumes the pull with the login its journal kept, and commits', async () => {
    const stateDir = join(dir, 'restarted');
    const candidate = {
      ...signedDesired(signer, 7, [web(privateImage)], { name: `${assembly}r`, probationMs: 500 }),
      registryAuth: [login],
    };
    await runtime.removeImage(privateImage);
    await new UpdateJournal(stateDir).write({ phase: 'fetch', active: null, candidate, pending: null, failedRev: null, lastFailure: null });
    const agent = await startAgent(stateDir, new RecordingUplink());
    await agent.updater.settled();
    expect(agent.updater.current).toMatchObject({ phase: 'idle', active: { rev: 7 }, lastFailure: null });
    expect(await runtime.hasImage(privateImage)).toBe(true);
  });
});
