import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FailureRecord } from './alts';

// The launcher as its own process (agent/dist, npm run build) with tiny stand-in agents that
// print their name: what it starts, and what it does with a trial it finds on start.

const LAUNCHER = join(__dirname, '..', '..', 'dist', 'self-update', 'launcher.js');
let state: string;
let alts: string;

function install(name: string, exitCode: number): void {
  mkdirSync(join(alts, name), { recursive: true });
  writeFileSync(join(alts, name, 'agent.js'), `console.log('ran ${name}'); process.exit(${exitCode});`);
  writeFileSync(join(alts, name, 'meta.json'), JSON.stringify({ version: name, sha256: name.repeat(16).slice(0, 64) }));
}

function launch(shipped = 'base', env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string }> {
  const base = join(state, 'base.js');
  writeFileSync(base, `console.log('ran ${shipped}'); process.exit(3);`);
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [LAUNCHER, base],
      { env: { ...process.env, FLOTILLA_STATE_DIR: state, ...env }, timeout: 20_000 },
      (err, stdout) => resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout }),
    ),
  );
}

beforeEach(() => {
  state = mkdtempSync(join(tmpdir(), 'flotilla-launcher-'));
  alts = join(state, 'alts');
  mkdirSync(alts);
});
afterEach(() => rmSync(state, { recursive: true, force: true }));

describe('agent launcher', () => {
  it('starts the agent it was given while no version is installed, and exits with its status', async () => {
    expect(await launch()).toEqual({ code: 3, stdout: 'ran base\n' });
  });

  it('runs nothing from a state dir or alts/ that others may write (exit 78, EX_CONFIG)', async () => {
    install('planted', 0);
    symlinkSync('planted', join(alts, 'current'));
    for (const dir of [state, alts]) {
      chmodSync(dir, 0o777);
      expect(await launch()).toEqual({ code: 78, stdout: '' });
      chmodSync(dir, 0o755);
    }
    expect(await launch()).toEqual({ code: 0, stdout: 'ran planted\n' });
  });

  it('a committed version that exits is not a failed trial: no fallback, its status goes to the supervisor', async () => {
    install('v1', 0);
    install('v2', 5);
    symlinkSync('v1', join(alts, 'old'));
    symlinkSync('v2', join(alts, 'current'));
    expect(await launch()).toEqual({ code: 5, stdout: 'ran v2\n' });
    expect(readlinkSync(join(alts, 'current'))).toBe('v2');
    expect(existsSync(join(alts, 'failure.json'))).toBe(false);
  });

  it('a trial left by a launcher that stopped (power cut) falls back before anything starts', async () => {
    install('v1', 0);
    install('v2', 0);
    symlinkSync('v1', join(alts, 'old'));
    symlinkSync('v2', join(alts, 'current'));
    writeFileSync(join(alts, 'trial.json'), JSON.stringify({ version: 'v2', startedAt: 0, deadline: 1 }));
    expect(await launch()).toEqual({ code: 0, stdout: 'ran v1\n' });
    expect(readlinkSync(join(alts, 'current'))).toBe('v1');
    expect(readlinkSync(join(alts, 'broken'))).toBe('v2');
    const failure = JSON.parse(readFileSync(join(alts, 'failure.json'), 'utf8')) as FailureRecord;
    expect(failure).toMatchObject({
      version: 'v2',
      failure: { kind: 'interrupted' },
      reason: 'the device or the launcher stopped during its trial',
    });
  });

  it('a switch cut short at any step (power cut) falls back at the next start; the new version never runs untried', async () => {
    // A directory where the launcher puts a link's temporary name stops it at that step, as a power
    // cut would: the links it moved before stay moved. Before the fix, a stop at `new.tmp` left v2
    // current with `new` still naming it, and the next start's switch pointed `old` at v2 as well.
    for (const step of ['old.tmp', 'current.tmp', 'new.tmp']) {
      rmSync(alts, { recursive: true, force: true });
      mkdirSync(alts);
      install('v1', 0);
      install('v2', 1);
      symlinkSync('v1', join(alts, 'current'));
      symlinkSync('v2', join(alts, 'new'));
      mkdirSync(join(alts, step));
      expect({ step, ...(await launch()) }).toEqual({ step, code: 1, stdout: '' });
      rmSync(join(alts, step), { recursive: true });

      // v2 exits with 1 at once: on trial it is taken back; run as committed, its status would end the launcher.
      const next = await launch();
      expect({ step, ...next, stdout: next.stdout.replace(/^ran v2\n/, '') }).toEqual({ step, code: 0, stdout: 'ran v1\n' });
      expect([step, readlinkSync(join(alts, 'current')), readlinkSync(join(alts, 'broken'))]).toEqual([step, 'v1', 'v2']);
      expect([step, existsSync(join(alts, 'new')), existsSync(join(alts, 'trial.json'))]).toEqual([step, false, false]);
      const failure = JSON.parse(readFileSync(join(alts, 'failure.json'), 'utf8')) as FailureRecord;
      expect([step, failure.version]).toEqual([step, 'v2']);
    }
  });

  it('switches to alts/new, and a new version that exits before it reports falls back to the one before', async () => {
    install('v2', 1);
    symlinkSync('v2', join(alts, 'new'));
    const run = await launch();
    // v2 crashes on trial; no version was installed before, so the launcher goes back to the agent it was given.
    expect(run).toEqual({ code: 3, stdout: 'ran v2\nran base\n' });
    expect(existsSync(join(alts, 'current'))).toBe(false);
    expect(readlinkSync(join(alts, 'broken'))).toBe('v2');
    const failure = JSON.parse(readFileSync(join(alts, 'failure.json'), 'utf8')) as FailureRecord;
    expect(failure.reason).toMatch(/^it crashed at start: exited with code 1 after/);
    expect(failure.failure).toMatchObject({ kind: 'exited', code: 1, signal: null });
  });

  it('a new version whose agent is another version than its release names falls back at once, saying so', async () => {
    // The bundle's agent is the real SelfUpdate (agent/dist) reporting 9.9.9 where meta.json, from the
    // release, says v2; it would otherwise stay up until the trial's deadline.
    const selfUpdate = JSON.stringify(join(__dirname, '..', '..', 'dist', 'self-update', 'self-update.js'));
    const logger = JSON.stringify(join(__dirname, '..', '..', 'dist', 'support', 'logger.js'));
    install('v2', 0);
    writeFileSync(
      join(alts, 'v2', 'agent.js'),
      `const { SelfUpdate } = require(${selfUpdate});
       const { silentLogger } = require(${logger});
       setTimeout(() => undefined, 20_000);
       console.log('ran v2');
       void new SelfUpdate(process.env.FLOTILLA_ALTS_DIR, '9.9.9', silentLogger, undefined, 0).start({ event: () => undefined, restart: () => process.exit(0) });`,
    );
    symlinkSync('v2', join(alts, 'new'));
    expect(await launch('base', { FLOTILLA_AGENT_TRIAL_MS: '1500' })).toEqual({ code: 3, stdout: 'ran v2\nran base\n' });
    expect(readlinkSync(join(alts, 'broken'))).toBe('v2');
    const failure = JSON.parse(readFileSync(join(alts, 'failure.json'), 'utf8')) as FailureRecord;
    expect(failure.failure).toEqual({ kind: 'version-mismatch', expected: 'v2', actual: '9.9.9' });
    expect(failure.reason).toBe("the bundle's agent says it is version 9.9.9, not the v2 its release names");
    expect(existsSync(join(alts, 'verdict.json'))).toBe(false);
  });

  it('a new version that runs but never reports falls back at the deadline, saying that', async () => {
    install('v2', 0);
    writeFileSync(join(alts, 'v2', 'agent.js'), `console.log('ran v2'); setTimeout(() => undefined, 20_000);`);
    symlinkSync('v2', join(alts, 'new'));
    expect(await launch('base', { FLOTILLA_AGENT_TRIAL_MS: '500' })).toEqual({ code: 3, stdout: 'ran v2\nran base\n' });
    const failure = JSON.parse(readFileSync(join(alts, 'failure.json'), 'utf8')) as FailureRecord;
    expect(failure.failure).toEqual({ kind: 'no-report', withinSeconds: 1 });
    expect(failure.reason).toBe('it did not connect and report within 1 s');
  });

  it('an OS or package update that ships another agent replaces the self-installed version; the same one keeps it', async () => {
    install('v2', 0);
    symlinkSync('v2', join(alts, 'current'));
    const shipped = (content: string) => createHash('sha256').update(`console.log('ran ${content}'); process.exit(3);`).digest('hex');
    writeFileSync(join(alts, 'shipped.json'), JSON.stringify({ sha256: shipped('base') }));
    expect(await launch()).toEqual({ code: 0, stdout: 'ran v2\n' });

    expect(await launch('base of the next OS')).toEqual({ code: 3, stdout: 'ran base of the next OS\n' });
    expect(existsSync(join(alts, 'current'))).toBe(false);
    expect(existsSync(join(alts, 'failure.json'))).toBe(false);
  });

  it('records the shipped agent when a first self-installed version replaces it', async () => {
    install('v2', 0);
    symlinkSync('v2', join(alts, 'new'));
    await launch();
    expect(JSON.parse(readFileSync(join(alts, 'shipped.json'), 'utf8'))).toEqual({
      sha256: createHash('sha256').update(`console.log('ran base'); process.exit(3);`).digest('hex'),
    });
  });
});
