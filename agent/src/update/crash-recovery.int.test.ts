import { minimalComponent } from '@flotilla/shared';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Desired } from '@flotilla/shared';
import { targetFromDesired } from '../reconcile/target';
import { DockerRuntime } from '../runtime/docker-runtime';
import { EngineClient } from '../runtime/engine-client';
import { LABEL } from '../runtime/labels';
import { AgentProcess } from '../testing/agent-process';
import { pushUniqueImage } from '../testing/images';
import { signedDesired, testSigner } from '../testing/releases';
import { UpdateJournal } from './journal';

/**
 * Integration: the agent process is killed with SIGKILL in every phase of the A/B
 * machine (before acting on the journaled phase, and for switch, probation and rollback
 * also after acting but before the next phase is journaled), then started again.
 * Afterwards the engine must run exactly one complete assembly, the old one or the new
 * one committed, never a mix.
 */
jest.setTimeout(180_000);

const run = randomBytes(3).toString('hex');
const scope = `io.flotilla.test-run=${run}`;
const runtime = new DockerRuntime(EngineClient.fromEnv(), { scopeLabels: { 'io.flotilla.test-run': run } });
const signer = testSigner();
const assembly = `cr${run}`;
const SERVE = ['sh', '-c', 'exec sleep 3600'];

let dir: string;
let images: { a: string; b: string };
let agent: AgentProcess;
let rev = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flotilla-crash-'));
  const [a, b] = await Promise.all(['a', 'b'].map((x) => pushUniqueImage(`flotilla-test/cr${run}-${x}`)));
  images = { a: a!, b: b! };
  await AgentProcess.prepare(dir, [signer.key]);
  agent = new AgentProcess(dir, { FLOTILLA_SCOPE_LABEL: scope, FLOTILLA_BOARD: 'raspberrypi5', FLOTILLA_HEALTH_TIMEOUT_MS: '5000' });
});

afterAll(async () => {
  await agent?.kill();
  for (const c of await runtime.listContainers()) await runtime.remove(c.name);
  for (const n of await runtime.listNetworks()) await runtime.removeNetwork(n.name);
  for (const image of Object.values(images ?? {})) await runtime.removeImage(image);
  await rm(dir, { recursive: true, force: true });
});

/** Release "a" or "b": two components, so half of one and half of the other would show. */
function release(which: 'a' | 'b', healthy = true): Desired {
  const image = images[which];
  const check = healthy ? undefined : { healthcheck: { test: ['CMD', 'false'], intervalMs: 200, retries: 1 } };
  return signedDesired(
    signer,
    ++rev,
    [
      minimalComponent('web', image, { command: SERVE, ...check }),
      minimalComponent('side', image, { command: SERVE, environment: { R: which } }),
    ],
    { name: assembly, probationMs: 500 },
  );
}

/** Exactly the active slot's containers run: same components, same specs, all running, nothing else. */
async function expectExactly(desired: Desired): Promise<void> {
  const target = targetFromDesired(desired)!;
  const containers = await runtime.listContainers();
  const seen = containers.map((c) => `${c.labels[LABEL.component]} ${c.labels[LABEL.specHash]} ${c.state}`).sort();
  const wanted = target.components.map((c) => `${c.spec.name} ${c.specHash} running`).sort();
  expect(seen).toEqual(wanted);
}

/** Idle in the agent's status and in its journal: the status moves first, the journal's fsync a moment later. */
async function waitIdle(): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const status = await agent.status();
    if (status.update.phase === 'idle' && (await new UpdateJournal(dir).read()).phase === 'idle') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('agent did not come back to idle');
}

const CASES: { pause: string; healthy: boolean; outcome: 'new' | 'old' }[] = [
  { pause: 'verify', healthy: true, outcome: 'new' },
  { pause: 'verify:after', healthy: true, outcome: 'new' },
  { pause: 'fetch', healthy: true, outcome: 'new' },
  { pause: 'fetch:after', healthy: true, outcome: 'new' },
  { pause: 'switch', healthy: true, outcome: 'old' },
  { pause: 'switch:after', healthy: true, outcome: 'old' },
  { pause: 'probation', healthy: true, outcome: 'old' },
  { pause: 'probation:after', healthy: true, outcome: 'old' },
  { pause: 'commit', healthy: true, outcome: 'new' },
  { pause: 'commit:after', healthy: true, outcome: 'new' },
  { pause: 'rollback', healthy: false, outcome: 'old' },
  { pause: 'rollback:after', healthy: false, outcome: 'old' },
];

describe('SIGKILL in every phase of the A/B update', () => {
  let active: Desired;
  let which: 'a' | 'b' = 'a';

  beforeAll(async () => {
    await agent.start();
    active = release('a');
    await agent.send({ op: 'apply', desired: active });
    await waitIdle();
    await expectExactly(active);
    await agent.kill();
  });

  it.each(CASES)('killed at $pause → ends on exactly the $outcome assembly', async ({ pause, healthy, outcome }) => {
    which = which === 'a' ? 'b' : 'a';
    const candidate = release(which, healthy);
    const [phase, when = 'before'] = pause.split(':');
    await agent.start({}, pause);
    const paused = agent.waitForLog((l) => l.msg === 'test pause' && l.phase === phase && l.when === when, 30_000);
    await agent.send({ op: 'apply', desired: candidate });
    await paused;
    await agent.kill();

    await agent.start();
    await waitIdle();
    const journal = await new UpdateJournal(dir).read();
    const expected = outcome === 'new' ? candidate : active;
    expect(journal).toMatchObject({ phase: 'idle', active: { rev: expected.rev }, candidate: null });
    await expectExactly(expected);
    if (outcome === 'old') {
      expect(journal.failedRev).toBe(candidate.rev);
      which = which === 'a' ? 'b' : 'a';
    }
    active = expected;
    await agent.kill();
  });
});
