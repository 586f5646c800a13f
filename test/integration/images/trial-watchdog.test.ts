import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool } from '../../../cli/src/images/tools';
import { trialWatchdogScript } from '../../../cli/src/images/root-files';

// The watchdog script the image build installs, run by /bin/sh with a `reboot` that only
// leaves a mark, against the agent's OS journal in each phase.
describe('the OS trial watchdog of built images', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-watchdog-'));
    writeFileSync(join(dir, 'watchdog.sh'), trialWatchdogScript());
    writeFileSync(join(dir, 'reboot'), `#!/bin/sh\necho rebooted > "${join(dir, 'mark')}"\n`);
    chmodSync(join(dir, 'reboot'), 0o755);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const run = async (journal: string | undefined) => {
    if (journal !== undefined) writeFileSync(join(dir, 'os-update.json'), journal);
    const { stderr } = await runTool('sh', [join(dir, 'watchdog.sh')], {
      env: { PATH: `${dir}:/usr/bin:/bin`, FLOTILLA_STATE_DIR: dir, FLOTILLA_TRIAL_DEADLINE_S: '0' },
    });
    const rebooted = await runTool('cat', [join(dir, 'mark')]).then(
      () => true,
      () => false,
    );
    return { rebooted, stderr: stderr.toString() };
  };

  it('reboots a trial boot that is still uncommitted at the deadline', async () => {
    expect(await run('{"phase":"trial","target":{"version":"2.0.0"}}')).toEqual({
      rebooted: true,
      stderr: expect.stringContaining('was not committed within 0 s'),
    });
    rmSync(join(dir, 'mark'));
    // Rebooted into the trial but the agent never started: the journal still says reboot.
    expect((await run('{"phase":"reboot"}')).rebooted).toBe(true);
  });

  it('leaves a normal boot, or a committed trial, alone', async () => {
    expect((await run(undefined)).rebooted).toBe(false);
    expect((await run('{"phase":"idle","failedSha256":null}')).rebooted).toBe(false);
    expect((await run('{"phase":"write"}')).rebooted).toBe(false);
  });
});
