import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { minimalComponent, type Desired, type UpdatePolicy } from '@flotilla/shared';
import { Agent } from '../../agent';
import { DockerRuntime } from '../../runtime/docker-runtime';
import { EngineClient } from '../../runtime/engine-client';
import { LABEL } from '../../runtime/labels';
import { systemClock } from '../../support/clock';
import { silentLogger } from '../../support/logger';
import { pushUniqueImage } from '../../testing/images';
import { PassThroughOutbox } from '../../testing/pass-through-outbox';
import { RecordingUplink } from '../../testing/recording-uplink';
import { signedDesired, testSigner } from '../../testing/releases';
import { ImageLedger } from '../image-ledger';
import { UpdateJournal } from '../journal';
import { registryFacts } from '../registry-facts';
import { LOCK_DIR_IN_CONTAINER, LOCK_SOCKET } from './lock';
import { LockStore } from './lock-store';

/**
 * Integration, issue 18 item 1: update locks against the real Docker Engine and the local
 * registry. A component ("printer") that asked for update locks takes one through its socket or
 * a lock file; a real update downloads, then waits; the switch follows the release within
 * seconds; the lock survives an agent restart; a lock left by a dead process is released; a
 * forced update and the fleet's longest deferral go through a held lock.
 */
jest.setTimeout(90_000);

const run = randomBytes(3).toString('hex');
const runtime = new DockerRuntime(EngineClient.fromEnv(), { scopeLabels: { 'io.flotilla.test-run': run } });
const docker = new Docker();
const signer = testSigner();
const SERVE = ['sh', '-c', 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www'];

let dir: string;
let images: string[];
let agent: Agent;
let uplink: RecordingUplink;

function newAgent(): Agent {
  return new Agent({
    deviceId: 'dev_locks',
    runtime,
    journal: new UpdateJournal(dir),
    ledger: new ImageLedger(dir),
    lockStore: new LockStore(join(dir, 'locks')),
    clock: systemClock,
    logger: silentLogger,
    releaseKeys: [signer.key],
    board: 'raspberrypi5',
    freeDiskBytes: async () => Number.MAX_SAFE_INTEGER,
    imageFacts: (ref, arch, auth) => registryFacts(ref, arch, auth),
    collectInventory: async () => {
      throw new Error('not in this test');
    },
    outbox: new PassThroughOutbox(),
    sampleTelemetry: async () => ({ at: new Date().toISOString(), cpuPercent: 0, memUsedBytes: 0, memTotalBytes: 1 }),
    settings: { healthTimeoutMs: 5_000, healthPollMs: 200, gatePollMs: 200, reportIntervalMs: 60_000, reconcileIntervalMs: 600_000 },
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flotilla-locks-'));
  images = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((x) => pushUniqueImage(`flotilla-test/lk${run}-${x}`)));
  uplink = new RecordingUplink();
  agent = newAgent();
  await agent.start(uplink);
});

afterAll(async () => {
  await agent?.stop();
  for (const c of await runtime.listContainers()) await runtime.remove(c.name);
  for (const n of await runtime.listNetworks()) await runtime.removeNetwork(n.name);
  for (const image of images ?? []) await runtime.removeImage(image);
  await rm(dir, { recursive: true, force: true });
});

const printer = (image: string) => ({ ...minimalComponent('printer', image, { command: SERVE }), updateLock: true as const });
const desired = (rev: number, image: string, updatePolicy?: UpdatePolicy): Desired => ({
  ...signedDesired(signer, rev, [printer(image)]),
  ...(updatePolicy ? { updatePolicy } : {}),
});

/** The image the printer container runs, as the engine says. */
async function running(): Promise<{ id: string; image: string }> {
  const [c] = (await runtime.listContainers()).filter((x) => x.labels[LABEL.component] === 'printer' && x.state === 'running');
  return { id: c?.id ?? '', image: c?.image ?? 'none' };
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One request on the printer's lock socket, as a process in its container would send it. */
function lockSocket(request: object): Promise<{ ok: boolean; result?: unknown; error?: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(join(dir, 'locks', 'printer', LOCK_SOCKET));
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (answer += d));
    socket.on('end', () => resolve(JSON.parse(answer) as { ok: boolean }));
    socket.on('error', reject);
    socket.write(JSON.stringify(request) + '\n');
  });
}

/** Runs `script` inside the printer's container; detached: returns at once, the process lives on. */
async function execIn(containerId: string, script: string, detach = false): Promise<string> {
  const exec = await docker.getContainer(containerId).exec({ Cmd: ['sh', '-c', script], AttachStdout: !detach, AttachStderr: !detach });
  if (detach) {
    await exec.start({ Detach: true });
    return '';
  }
  const stream = await exec.start({});
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((r) => stream.on('end', r));
  return Buffer.concat(chunks).toString('utf8');
}

const deferred = async () => (await agent.reported()).update.deferred;

describe('update locks on a real engine', () => {
  it('a lock taken through the socket defers a real update past an agent restart; the switch follows its release within seconds', async () => {
    agent.desire(desired(1, images[0]!));
    await agent.updater.settled();
    const first = await running();
    expect(first.image).toBe(images[0]);
    // The component sees its lock directory, socket included, and nothing of other components.
    expect(await execIn(first.id, `ls ${LOCK_DIR_IN_CONTAINER}`)).toContain(LOCK_SOCKET);

    expect(await lockSocket({ op: 'lock', holder: 'print job 42', ttlSeconds: 600 })).toMatchObject({ ok: true });
    agent.desire(desired(2, images[1]!));
    const waiting = await until('the update to wait for the lock', deferred);
    expect(waiting).toMatchObject({ waitingFor: 'lock', components: ['printer'] });
    expect(await runtime.hasImage(images[1]!)).toBe(true); // downloaded already
    expect((await agent.reported()).locks).toEqual([
      expect.objectContaining({ component: 'printer', holder: 'print job 42', via: 'api', since: expect.any(String) }),
    ]);
    expect((await running()).image).toBe(images[0]);

    // An agent restart: the lock is on disk, the wait resumes (same start), nothing switched.
    await agent.stop();
    agent = newAgent();
    await agent.start(uplink);
    expect(await until('the update to wait again after the restart', deferred)).toEqual(waiting);
    expect((await running()).image).toBe(images[0]);

    const released = Date.now();
    expect(await lockSocket({ op: 'unlock' })).toMatchObject({ ok: true, result: { released: true } });
    await until('the switch to the new image', async () => (await running()).image === images[1]);
    const switchedMs = Date.now() - released;
    await agent.updater.settled();
    expect(agent.updater.current.active?.rev).toBe(2);
    // About 1-2 s on an idle machine (the socket wakes the agent; the rest is the engine starting the new container).
    expect(switchedMs).toBeLessThan(10_000);
    console.log(`update-locks: switched ${switchedMs} ms after the lock's release`);
  });

  it('a lock file left by a process that died is recognised as stale and released, with an event', async () => {
    const { id } = await running();
    // The lock holder: a shell in the component that writes its pid, then lives on as `sleep`.
    await execIn(
      id,
      `echo "{\\"holder\\":\\"measurement\\",\\"pid\\":$$,\\"ttlSeconds\\":600}" > ${LOCK_DIR_IN_CONTAINER}/update.lock; exec sleep 600`,
      true,
    );
    const pid = await until('the lock file', async () => (await agent.reported()).locks?.find((l) => l.via === 'file')?.pid);
    agent.desire(desired(3, images[2]!));
    await until('the update to wait for the file lock', deferred);
    expect((await running()).image).toBe(images[1]);

    await execIn(id, `kill ${pid}`);
    await until('the switch after the stale lock', async () => (await running()).image === images[2]);
    await agent.updater.settled();
    expect(uplink.events('update-lock-released').at(-1)).toMatchObject({
      message: expect.stringMatching(
        /released the file update lock of "printer" held by measurement: stale, process \d+ of "printer" is gone/,
      ),
    });
    expect((await agent.reported()).locks).toBeUndefined();
  });

  it('a forced update and the fleet longest deferral switch through a held lock, with an event', async () => {
    await lockSocket({ op: 'lock', holder: 'print job 43', ttlSeconds: 600 });
    agent.desire(desired(4, images[3]!, { force: true }));
    await until('the forced switch', async () => (await running()).image === images[3]);
    await agent.updater.settled();
    expect(uplink.events('update-lock-overridden').at(-1)).toMatchObject({
      rev: 4,
      message: 'switching despite the update locks of printer (print job 43): forced by an operator',
    });

    const started = Date.now();
    agent.desire(desired(5, images[4]!, { lockMaxDeferSeconds: 2 }));
    expect(await until('the update to wait', deferred)).toMatchObject({ until: expect.any(String) });
    await until('the switch once the longest deferral ran out', async () => (await running()).image === images[4]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    expect(uplink.events('update-lock-overridden').at(-1)).toMatchObject({
      rev: 5,
      message: expect.stringContaining("fleet's longest 2 s"),
    });
  });
});
