import { minimalComponent } from '@flotilla/shared';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../agent';
import { DockerRuntime } from '../runtime/docker-runtime';
import { EngineClient } from '../runtime/engine-client';
import { LABEL } from '../runtime/labels';
import { systemClock } from '../support/clock';
import { silentLogger } from '../support/logger';
import { pushUniqueImage } from '../testing/images';
import { signedDesired, testSigner } from '../testing/releases';
import { PassThroughOutbox } from '../testing/pass-through-outbox';
import { ImageLedger } from './image-ledger';
import { UpdateJournal } from './journal';
import { registryFacts } from './registry-facts';
import { RecordingUplink } from '../testing/recording-uplink';

/**
 * Integration: the A/B updater against the real Docker Engine and the local registry.
 * Images are built offline FROM the test busybox and pushed under repositories of this
 * run, so the agent pulls them by digest and garbage collection touches nothing shared.
 */
jest.setTimeout(60_000);

const run = randomBytes(3).toString('hex');
const scope = { 'io.flotilla.test-run': run };
const runtime = new DockerRuntime(EngineClient.fromEnv(), { scopeLabels: scope });
const signer = testSigner();
const assembly = `up${run}`;
const SERVE = ['sh', '-c', 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www'];

let dir: string;
let imageA: string;
let imageB: string;
let imageC: string;
let agent: Agent;
let uplink: RecordingUplink;
let freeDisk = Number.MAX_SAFE_INTEGER;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flotilla-updater-'));
  [imageA, imageB, imageC] = await Promise.all(['a', 'b', 'c'].map((x) => pushUniqueImage(`flotilla-test/up${run}-${x}`)));
  uplink = new RecordingUplink();
  agent = new Agent({
    deviceId: 'dev_test',
    runtime,
    journal: new UpdateJournal(dir),
    ledger: new ImageLedger(dir),
    clock: systemClock,
    logger: silentLogger,
    releaseKeys: [signer.key],
    board: 'raspberrypi5',
    freeDiskBytes: async () => freeDisk,
    imageFacts: (ref, arch, auth) => registryFacts(ref, arch, auth),
    collectInventory: async () => {
      throw new Error('not in this test');
    },
    outbox: new PassThroughOutbox(),
    sampleTelemetry: async () => ({ at: new Date().toISOString(), cpuPercent: 0, memUsedBytes: 0, memTotalBytes: 1 }),
    settings: { healthTimeoutMs: 5_000, healthPollMs: 200, gatePollMs: 200, reportIntervalMs: 60_000, reconcileIntervalMs: 600_000 },
  });
  await agent.start(uplink);
});

afterAll(async () => {
  await agent?.stop();
  for (const c of await runtime.listContainers()) await runtime.remove(c.name);
  for (const n of await runtime.listNetworks()) await runtime.removeNetwork(n.name);
  for (const image of [imageA, imageB, imageC]) if (image) await runtime.removeImage(image);
  await rm(dir, { recursive: true, force: true });
});

/** What runs, as the engine says: `component:image-letter`, one entry per container. */
async function engineView(): Promise<string[]> {
  const letter = (image: string) => (image === imageA ? 'A' : image === imageB ? 'B' : image === imageC ? 'C' : image);
  return (await runtime.listContainers()).map((c) => `${c.labels[LABEL.component]}:${letter(c.image)}:${c.state}`).sort();
}

async function update(rev: number, ...args: Parameters<typeof signedDesired> extends [unknown, unknown, ...infer R] ? R : never) {
  agent.desire(signedDesired(signer, rev, ...args));
  await agent.updater.settled();
  return agent.updater.current;
}

const web = (image: string, overrides: Parameters<typeof minimalComponent>[2] = {}) =>
  minimalComponent('web', image, { command: SERVE, ...overrides });

describe('A/B update on a real engine', () => {
  it('installs, then a healthy update commits and the old slot image is collected', async () => {
    await update(1, [web(imageA)], { name: assembly, probationMs: 500 });
    expect(await engineView()).toEqual(['web:A:running']);

    const state = await update(
      2,
      [web(imageB, { healthcheck: { test: ['CMD-SHELL', 'wget -q -O /dev/null http://127.0.0.1:8080/index.html'], intervalMs: 300 } })],
      {
        name: assembly,
        probationMs: 1_500,
      },
    );
    expect(state.lastFailure).toBeNull();
    expect(state).toMatchObject({ phase: 'idle', active: { rev: 2 }, failedRev: null });
    expect(await engineView()).toEqual(['web:B:running']);
    expect(await runtime.hasImage(imageA)).toBe(false);
    expect(await runtime.hasImage(imageB)).toBe(true);
    expect(uplink.events('update-committed').map((e) => e.rev)).toEqual([1, 2]);
  });

  it('rolls back when the new health check fails, with the old slot running again', async () => {
    const state = await update(3, [web(imageC, { healthcheck: { test: ['CMD', 'false'], intervalMs: 200, retries: 1 } })], {
      name: assembly,
      probationMs: 10_000,
    });
    expect(state).toMatchObject({ phase: 'idle', active: { rev: 2 }, failedRev: 3, lastFailure: expect.stringMatching(/unhealthy/) });
    expect(await engineView()).toEqual(['web:B:running']);
    expect(uplink.events('update-rolled-back').at(-1)).toMatchObject({ rev: 3 });
    // The rolled-back candidate's image stays until the next commit.
    expect(await runtime.hasImage(imageC)).toBe(true);
  });

  it('rolls back a crash-looping component before the probation window ends', async () => {
    const started = Date.now();
    const state = await update(4, [web(imageB), minimalComponent('crasher', imageC, { command: ['sh', '-c', 'sleep 0.2; exit 3'] })], {
      name: assembly,
      probationMs: 30_000,
    });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(state).toMatchObject({
      active: { rev: 2 },
      failedRev: 4,
      lastFailure: expect.stringMatching(/crasher.*(crash-looping|exited|restarting)/),
    });
    expect(await engineView()).toEqual(['web:B:running']);
  });

  it('stays on the old slot and reports the failure when an image cannot be pulled', async () => {
    const missing = `127.0.0.1:5000/flotilla-test/up${run}-missing@sha256:${'0'.repeat(64)}`;
    const state = await update(5, [web(missing)], { name: assembly, probationMs: 500 });
    expect(state).toMatchObject({
      phase: 'idle',
      active: { rev: 2 },
      failedRev: 5,
      lastFailure: expect.stringMatching(/not found|unknown/),
    });
    expect(await engineView()).toEqual(['web:B:running']);
    expect((await agent.reported()).update).toMatchObject({ phase: 'idle', failedRev: 5, active: { rev: 2 } });
  });

  it('refuses a bad signature, another board and too little disk before anything stops', async () => {
    const before = (await runtime.listContainers()).map((c) => c.id);
    const forged = signedDesired(signer, 6, [web(imageC)], { name: assembly });
    forged.release!.signature = signedDesired(testSigner(), 6, [web(imageC)], { name: assembly }).release!.signature;
    agent.desire(forged);
    await agent.updater.settled();
    expect(agent.updater.current.lastFailure).toMatch(/signature refused/);

    expect(await update(7, [web(imageC)], { name: assembly, boards: ['raspberrypi4-64'] })).toMatchObject({
      failedRev: 7,
      lastFailure: expect.stringMatching(/this device is a raspberrypi5/),
    });

    freeDisk = 100 * 1024 * 1024;
    await runtime.removeImage(imageC);
    expect(await update(8, [web(imageC)], { name: assembly })).toMatchObject({
      failedRev: 8,
      lastFailure: expect.stringMatching(/not enough disk/),
    });
    freeDisk = Number.MAX_SAFE_INTEGER;

    expect(uplink.events('update-refused').map((e) => e.rev)).toEqual(expect.arrayContaining([5, 6, 7, 8]));
    expect((await runtime.listContainers()).map((c) => c.id)).toEqual(before);
    expect(await runtime.hasImage(imageC)).toBe(false);
  });

  it('hands a component over: the new container starts beside the old one, which goes once the new one is healthy', async () => {
    const check = { test: ['CMD-SHELL', 'true'], intervalMs: 200 };
    const state = await update(9, [web(imageA, { update: 'hand-over', healthcheck: check })], { name: assembly, probationMs: 500 });
    expect(state).toMatchObject({ phase: 'idle', active: { rev: 9 } });
    expect(await engineView()).toEqual(['web:A:running']);
    expect(await runtime.hasImage(imageB)).toBe(false);
  });
});
