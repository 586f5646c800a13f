import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initScript } from '../../../cli/src/images/root-files';

// The init script's restart loop (systems without systemd), run by sh for real with the agent
// command replaced by a stub: it restarts the agent after a failure, and stops after exit 78
// (EX_CONFIG: a damaged state file or configuration) instead of restarting it every 5 s forever.
describe('the init script restart loop', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'init-loop-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('restarts after exit 1 and stops for good after exit 78', () => {
    const script = initScript();
    const agent = '/usr/bin/node --max-semi-space-size=1 --lite-mode /opt/flotilla/launcher.js /opt/flotilla/agent.js';
    const loop = /\( (while true; do [^]*?done) \)/.exec(script)?.[1];
    expect(loop).toContain(agent);
    // First run fails like a crash (1), the second like a damaged journal (78).
    const stub = join(dir, 'agent.sh');
    writeFileSync(stub, `#!/bin/sh\necho run >>"${dir}/runs"\n[ "$(wc -l <"${dir}/runs")" -ge 2 ] && exit 78\nexit 1\n`);
    chmodSync(stub, 0o755);
    const started = Date.now();
    const run = spawnSync('sh', ['-c', loop!.replace(agent, stub)], { encoding: 'utf8', timeout: 20_000 });
    expect(run.status).toBe(0);
    expect(readFileSync(join(dir, 'runs'), 'utf8')).toBe('run\nrun\n');
    expect(run.stderr).toContain('exit 78');
    expect(run.stderr).toContain('not restarting');
    expect(Date.now() - started).toBeGreaterThanOrEqual(4_500); // one 5 s pause, after the exit 1 only
  });
});
