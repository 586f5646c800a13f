import { minimalComponent } from '@flotilla/shared';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerRuntime } from '../runtime/container-runtime';
import { DockerRuntime } from '../runtime/docker-runtime';
import { DEFAULT_ENGINE_SOCKET, EngineClient } from '../runtime/engine-client';
import { LABEL } from '../runtime/labels';
import { LateEngineRuntime } from '../runtime/late-engine-runtime';
import { NoEngineRuntime } from '../runtime/no-engine-runtime';
import { systemClock, type Clock } from '../support/clock';
import { RETRY_EVENT_EVERY_MS } from '../support/retry-events';
import { instantClock } from '../support/test-clock';
import { silentLogger } from '../support/logger';
import { pushUniqueImage } from '../testing/images';
import { signedDesired, testSigner } from '../testing/releases';
import { ImageLedger } from './image-ledger';
import { UpdateJournal } from './journal';
import { RegistryAccess } from './registry-access';
import { registryFacts } from './registry-facts';
import { Updater, type UpdaterDeps } from './updater';

/**
 * Integration: the container engine cannot be reached when a desired rev arrives (dockerd
 * restarting, or not started yet at boot), and can be later. The runtime talks to a socket
 * path in a temp dir that does not exist at first; the test then links it to the real
 * engine's socket. Expected: the rev waits, says so, and commits once the engine answers,
 * without being sent again; it is never failed.
 */
jest.setTimeout(60_000);

const run = randomBytes(3).toString('hex');
const scope = { 'io.flotilla.test-run': run };
const real = new DockerRuntime(EngineClient.fromEnv(), { scopeLabels: scope });
const signer = testSigner();
const SERVE = ['sh', '-c', 'exec sleep 3600'];

let dir: string;
let images: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp('/tmp/fl-eu-');
  // Pushed, then untagged: only the registry has them, so FETCH pulls through the engine once it is back.
  images = await Promise.all(['a', 'b'].map((x) => pushUniqueImage(`flotilla-test/eu${run}-${x}`)));
});

afterAll(async () => {
  for (const c of await real.listContainers()) await real.remove(c.name);
  for (const n of await real.listNetworks()) await real.removeNetwork(n.name);
  for (const image of images) await real.removeImage(image);
  await rm(dir, { recursive: true, force: true });
});

/**
 * An updater on `runtime` with its journal in `stateDir`. `waiting` resolves once it reports
 * that it waits for the engine, and rejects if it fails the rev instead.
 */
function updaterOn(
  runtime: ContainerRuntime,
  stateDir: string,
  clock: Clock = systemClock,
  onEvent: UpdaterDeps['onEvent'] = () => undefined,
) {
  let told: () => void;
  let failed: (err: Error) => void;
  const waiting = new Promise<void>((resolve, reject) => ((told = resolve), (failed = reject)));
  const updater: Updater = new Updater({
    journal: new UpdateJournal(stateDir),
    ledger: new ImageLedger(stateDir),
    runtime,
    clock,
    logger: silentLogger,
    releaseKeys: [signer.key],
    board: undefined,
    freeDiskBytes: async () => Number.MAX_SAFE_INTEGER,
    imageFacts: (ref, arch, auth) => registryFacts(ref, arch, auth),
    controlPlaneConnected: () => true,
    registryAccess: new RegistryAccess({ clock: systemClock, askRefresh: () => undefined }),
    onChange: () => {
      const { failedRev, lastFailure } = updater.status();
      if (failedRev !== null) failed(new Error(`rev ${failedRev} failed: ${lastFailure}`));
      if (lastFailure?.startsWith('waiting for the container engine')) told();
    },
    onEvent,
    settings: { healthPollMs: 200, gatePollMs: 200 },
  });
  return { updater, waiting };
}

async function engineView(): Promise<string[]> {
  return (await real.listContainers()).map((c) => `${c.labels[LABEL.component]}:${images.indexOf(c.image)}:${c.state}`).sort();
}

it('waits while the engine socket does not answer, then commits the same rev once it does', async () => {
  const socket = join(dir, 'docker.sock');
  const { updater, waiting } = updaterOn(
    new DockerRuntime(new EngineClient({ socketPath: socket }), { scopeLabels: scope }),
    join(dir, 'a'),
  );
  await updater.start();
  try {
    const rev1 = signedDesired(signer, 1, [minimalComponent('web', images[0]!, { command: SERVE })], { name: `eu${run}a` });
    updater.desire(rev1);
    await waiting;
    expect(updater.current).toMatchObject({ phase: 'verify', candidate: { rev: 1 }, failedRev: null });
    expect(updater.status().lastFailure).toMatch(/could not read engine info: .*ENOENT/);
    // What desired/get brings after a reconnect: the same rev, which is already being tried.
    updater.desire(rev1);

    await symlink(DEFAULT_ENGINE_SOCKET, socket);
    await updater.settled();
    expect(updater.current).toMatchObject({ phase: 'idle', active: { rev: 1 }, failedRev: null, lastFailure: null });
    expect(await engineView()).toEqual(['web:0:running']);
  } finally {
    await updater.stop();
  }
});

it('on a device whose engine socket was missing at start, uses the engine once it appears', async () => {
  const socket = join(dir, 'late.sock');
  const runtime = new LateEngineRuntime(
    socket,
    new DockerRuntime(new EngineClient({ socketPath: socket }), { scopeLabels: scope }),
    new NoEngineRuntime(socket, dir),
  );
  const { updater, waiting } = updaterOn(runtime, join(dir, 'b'));
  await updater.start();
  try {
    updater.desire(signedDesired(signer, 1, [minimalComponent('side', images[1]!, { command: SERVE })], { name: `eu${run}b` }));
    await waiting;
    expect(updater.current).toMatchObject({ phase: 'fetch', candidate: { rev: 1 }, failedRev: null });
    expect(updater.status().lastFailure).toMatch(/no container engine \(no Docker socket at .*late\.sock\)/);

    await symlink(DEFAULT_ENGINE_SOCKET, socket);
    await updater.settled();
    expect(updater.current).toMatchObject({ phase: 'idle', active: { rev: 1 }, failedRev: null, lastFailure: null });
    expect((await engineView()).filter((c) => c.startsWith('side:'))).toEqual(['side:1:running']);
  } finally {
    await updater.stop();
  }
});

it('tells the retries in events as well: the first at once, then one per 10 minutes with the count since', async () => {
  // Sleeps return at once and move this clock: the engine socket is really missing at each attempt.
  const clock = instantClock();
  const retries: { message: string; phase: string; at: number }[] = [];
  let twoTold: () => void;
  const told = new Promise<void>((resolve) => (twoTold = resolve));
  const { updater } = updaterOn(
    new DockerRuntime(new EngineClient({ socketPath: join(dir, 'never.sock') }), { scopeLabels: scope }),
    join(dir, 'c'),
    clock,
    (kind, message, _slot, phase) => {
      if (kind !== 'update-phase' || !message.includes('is tried again')) return;
      retries.push({ message, phase, at: clock.now().getTime() });
      if (retries.length === 2) twoTold();
    },
  );
  await updater.start();
  try {
    updater.desire(signedDesired(signer, 1, [minimalComponent('web', images[0]!, { command: SERVE })], { name: `eu${run}c` }));
    // Bounded, so that a missing event fails here and the finally stops the updater's loop.
    await Promise.race([
      told,
      new Promise((_, reject) => setTimeout(() => reject(new Error('no second retry event within 10 s')), 10_000)),
    ]);
  } finally {
    await updater.stop();
  }
  const [first, second] = retries;
  expect(first!.message).toMatch(
    /^verify of .* is tried again: waiting for the container engine: .*ENOENT.*\(verify attempt 1, next in 1 s\)$/,
  );
  // Backoff 1, 2, 4 … 32, then 60 s: the 16th attempt is the first 10 minutes after the first.
  expect(second!.message).toMatch(/\(verify attempt 16, next in 60 s\) \(15 attempts failed since the last event\)$/);
  expect(second!.at - first!.at).toBeGreaterThanOrEqual(RETRY_EVENT_EVERY_MS);
  expect([first!.phase, second!.phase, updater.current.failedRev]).toEqual(['verify', 'verify', null]);
});
