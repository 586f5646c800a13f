import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

jest.setTimeout(120_000);

/** Benchmarks are run by hand; this keeps one of them (and its control-plane child process) from rotting. */
describe('npm run bench -- connect (smoke, 20 devices)', () => {
  it('provisions, connects in its three modes and prints its tables, the ratios and the machine line', () => {
    const root = join(__dirname, '..', '..', '..');
    const run = spawnSync(process.execPath, [join(root, 'test/bench/run.js'), 'connect', '--devices', '20', '--hold', '0'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 110_000,
    });
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^machine: \d+ × /m);
    for (const mode of ['plain', 'password over TLS', 'mutual TLS']) {
      expect(run.stdout).toMatch(new RegExp(`^${mode}\\s+storm: all online in DB\\s+\\d`, 'm'));
    }
    expect(run.stdout).toMatch(/^mutual TLS \/ plain\s+\d+\.\d+x/m);
  });
});
