import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

jest.setTimeout(120_000);

const root = join(__dirname, '..', '..', '..');

/** Runs `npm run bench -- <args>` as an operator would (the control plane as a child process). */
function bench(args: string[]): { stdout: string; stderr: string; status: number | null } {
  return spawnSync(process.execPath, [join(root, 'test/bench/run.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 110_000 });
}

/** Benchmarks are run by hand; these keep them (and their control-plane child process) from rotting. */
describe('npm run bench (smoke, a few devices)', () => {
  it('connect: provisions, connects in its three modes and prints its tables, the ratios and the machine line', () => {
    const run = bench(['connect', '--devices', '20', '--hold', '0']);
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^machine: \d+ × /m);
    for (const mode of ['plain', 'password over TLS', 'mutual TLS']) {
      expect(run.stdout).toMatch(new RegExp(`^${mode}\\s+storm: all online in DB\\s+\\d`, 'm'));
    }
    expect(run.stdout).toMatch(/^mutual TLS \/ plain\s+\d+\.\d+x/m);
  });

  // The fleet target's API call answers 202 with a job: the round follows the job to its end.
  it('rollout --fleet-target 1: a Flotilla round by the fleet target, then the bare broker, and their ratio', () => {
    const run = bench(['rollout', '--devices', '20', '--pairs', '1', '--fleet-target', '1', '--receive-only', '0', '--apply', '0.2']);
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^fleet target\s+20\s+\d/m);
    // A warm-up pair first, printed and left out of the median.
    expect(run.stdout).toMatch(/^pair 0: ratio Flotilla \/ bare broker/m);
    expect(run.stdout).toMatch(/^pair 1: ratio Flotilla \/ bare broker with the same receiving work, received by all: \d+\.\d+/m);
    expect(run.stdout).toMatch(/^median of 1 pairs: ratio received by all \d+\.\d+/m);
  });

  it('assignment-statements: both statements, the design before and now, and their ratio', () => {
    const run = bench(['assignment-statements', '--devices', '200', '--runs', '1', '--durable', '0']);
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.status).toBe(0);
    for (const statement of ['fleet target \\(one statement\\)', 'rollout \\(segments of 2048\\)'])
      expect(run.stdout).toMatch(new RegExp(`^${statement}\\s+200\\s+\\d+\\.\\d\\s+\\d+\\.\\d\\s+-?\\d+\\.\\d\\s+\\d+\\.\\d\\d`, 'm'));
  });

  it('rollout-creation: the design before and now, and their ratio', () => {
    const run = bench(['rollout-creation', '--devices', '200', '--runs', '1', '--durable', '0']);
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^200\s+\d+\.\d\s+\d+\.\d\s+\d+\.\d\d/m);
  });
});
