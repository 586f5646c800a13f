import { minimalComponent } from '@flotilla/shared';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChannelPayload, DeviceChannel } from '@flotilla/shared';
import { Agent } from '../agent';
import type { Uplink } from '../agent-deps';
import { DockerRuntime } from '../runtime/docker-runtime';
import { EngineClient } from '../runtime/engine-client';
import { LABEL } from '../runtime/labels';
import { systemClock } from '../support/clock';
import { silentLogger } from '../support/logger';
import Docker from 'dockerode';
import { buildLocalImage } from '../testing/images';
import { PassThroughOutbox } from '../testing/pass-through-outbox';
import { PrivateDockerd } from '../testing/private-dockerd';
import { signedDesired, testSigner } from '../testing/releases';
import { ImageLedger } from './image-ledger';
import { UpdateJournal } from './journal';

/**
 * Integration: the Docker Engine restarts while a candidate is in PROBATION. The test
 * runs its OWN dockerd (own socket, data-root, exec-root and network namespace in a temp
 * dir); the shared engine is never restarted. That engine has no network, so the images
 * are copied into it by tag and nothing is pulled. Expected: a clear outcome (the gate
 * fails, the device rolls back to the old slot once the engine is back) and no container
 * left over.
 */
jest.setTimeout(90_000);

const run = randomBytes(3).toString('hex');
const shared = new Docker();
const signer = testSigner();
const SERVE = ['sh', '-c', 'exec sleep 3600'];
const uplink: Uplink = { connected: true, publish: <C extends DeviceChannel>(_c: C, _v: ChannelPayload<C>) => undefined };

let dir: string;
let dockerd: PrivateDockerd;
let stateDir: string;

beforeAll(async () => {
  // Short path: unix socket paths are limited to 108 bytes, and containerd's live under exec-root.
  dir = await mkdtemp(`/tmp/fl-dk-`);
  stateDir = join(dir, 'state');
  dockerd = new PrivateDockerd(join(dir, 'e'));
  await dockerd.start();
});

afterAll(async () => {
  await dockerd?.destroy();
  // Never recurse into a directory the engine may still have mounts under.
  if (!(await readFile('/proc/mounts', 'utf8')).includes(dir)) await rm(dir, { recursive: true, force: true });
});

it('rolls back to the old slot, leaving no orphaned container, when the engine restarts during probation', async () => {
  const [imageA, imageB] = await Promise.all(['a', 'b'].map((x) => buildLocalImage(`flotilla-test/er${run}-${x}:t`)));
  await dockerd.loadImages(shared, [imageA!, imageB!]);
  await Promise.all([imageA!, imageB!].map((image) => shared.getImage(image).remove()));
  const runtime = new DockerRuntime(new EngineClient({ socketPath: dockerd.socket }));
  const agent = new Agent({
    deviceId: 'dev_test',
    runtime,
    journal: new UpdateJournal(stateDir),
    ledger: new ImageLedger(stateDir),
    clock: systemClock,
    logger: silentLogger,
    releaseKeys: [signer.key],
    board: undefined,
    freeDiskBytes: async () => Number.MAX_SAFE_INTEGER,
    imageFacts: async () => ({}),
    collectInventory: async () => {
      throw new Error('not in this test');
    },
    outbox: new PassThroughOutbox(),
    sampleTelemetry: async () => ({ at: new Date().toISOString(), cpuPercent: 0, memUsedBytes: 0, memTotalBytes: 1 }),
    settings: { gatePollMs: 200, healthPollMs: 200, reportIntervalMs: 60_000, reconcileIntervalMs: 600_000 },
  });
  await agent.start(uplink);
  const release = (rev: number, image: string, probationMs: number) =>
    signedDesired(signer, rev, [minimalComponent('web', image, { command: SERVE }), minimalComponent('side', image, { command: SERVE })], {
      name: `er${run}`,
      probationMs,
    });
  try {
    agent.desire(release(1, imageA!, 300));
    await agent.updater.settled();
    expect(agent.updater.current).toMatchObject({ phase: 'idle', active: { rev: 1 } });

    agent.desire(release(2, imageB!, 20_000));
    for (let i = 0; i < 300 && agent.updater.current.phase !== 'probation'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(agent.updater.current.phase).toBe('probation');
    await dockerd.stop();
    await new Promise((r) => setTimeout(r, 500));
    await dockerd.start();
    await agent.updater.settled();

    expect(agent.updater.current).toMatchObject({ phase: 'idle', active: { rev: 1 }, failedRev: 2 });
    const all = await dockerd.client().listContainers({ all: true });
    expect(all.map((c) => `${c.Labels[LABEL.component]} ${c.Image === imageA ? 'A' : c.Image} ${c.State}`).sort()).toEqual([
      'side A running',
      'web A running',
    ]);
  } finally {
    await agent.stop();
  }
});
