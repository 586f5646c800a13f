import { minimalComponent } from '@flotilla/shared';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../agent';
import { InMemoryRuntime } from '../runtime/in-memory-runtime';
import { systemClock } from '../support/clock';
import { silentLogger } from '../support/logger';
import { signedDesired, testSigner } from '../testing/releases';
import { PassThroughOutbox } from '../testing/pass-through-outbox';
import { INITIAL_STATE, type UpdateState } from '../update/machine';
import { runCli } from './client';
import { ControlServer } from './control-server';
import { controlSocketPath } from './protocol';

/** Integration: the technician's CLI against a running agent over the real unix socket. */
const IMG = 'registry.local/app@sha256:' + 'a'.repeat(64);
const signer = testSigner();
let dir: string;
let agent: Agent;
let server: ControlServer;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flotilla-cli-'));
  const runtime = new InMemoryRuntime();
  runtime.registry.add(IMG);
  let journal: UpdateState = INITIAL_STATE;
  agent = new Agent({
    deviceId: 'dev_test',
    runtime,
    journal: { read: async () => journal, write: async (s) => void (journal = s) },
    ledger: { read: async () => [], add: async () => undefined, write: async () => undefined },
    clock: systemClock,
    logger: silentLogger,
    releaseKeys: [signer.key],
    board: undefined,
    freeDiskBytes: async () => Number.MAX_SAFE_INTEGER,
    imageFacts: async () => ({}),
    outbox: new PassThroughOutbox(),
    collectInventory: async () => {
      throw new Error('not here');
    },
    sampleTelemetry: async () => ({ at: new Date().toISOString(), cpuPercent: 0, memUsedBytes: 0, memTotalBytes: 1 }),
    settings: { gatePollMs: 50 },
  });
  await agent.start({ connected: false, publish: () => undefined });
  server = new ControlServer(agent, controlSocketPath(dir), silentLogger);
  await server.start();
});

afterEach(async () => {
  await server.stop();
  await agent.stop();
  await rm(dir, { recursive: true, force: true });
});

async function cli(...argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await runCli(argv, dir, (s) => (out += s));
  return { code, out };
}

describe('flotilla-agent CLI', () => {
  it('applies a signed desired file, shows status, reads logs, and rolls back a trial', async () => {
    const file = join(dir, 'desired.json');
    await writeFile(file, JSON.stringify(signedDesired(signer, 1, [minimalComponent('web', IMG)], { probationMs: 60_000 })));
    expect(await cli('apply', file)).toEqual({ code: 0, out: 'accepted rev 1\n' });
    for (let i = 0; i < 100 && agent.updater.current.phase !== 'probation'; i++) await new Promise((r) => setTimeout(r, 20));

    const status = await cli('status');
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/update phase: probation/);
    expect(status.out).toMatch(/candidate: rev 1 1\.0\.1/);
    expect(status.out).toMatch(/web\s+running/);
    expect(JSON.parse((await cli('status', '--json')).out)).toMatchObject({ update: { phase: 'probation' } });
    expect((await cli('logs', 'web', '--tail', '5')).out).toMatch(/^logs of flotilla_web_/);

    expect(await cli('rollback')).toEqual({ code: 0, out: 'rolling back to the active slot\n' });
    await agent.updater.settled();
    expect(agent.updater.current).toMatchObject({ phase: 'idle', failedRev: 1, lastFailure: expect.stringMatching(/rollback requested/) });
    expect((await cli('rollback')).out).toMatch(/^error: nothing to roll back/);
    expect((await cli('apply', file)).out).toMatch(/^error: rev 1 is not newer/);
    expect((await cli('bogus')).code).toBe(64);
  });

  it('says where it looked when no agent is running', async () => {
    await expect(runCli(['status'], join(dir, 'elsewhere'), () => undefined)).rejects.toThrow(/cannot reach the agent at .*agent\.sock/);
  });
});
