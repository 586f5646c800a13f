import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/ports';
import { waitFor } from '../support/wait';

// Integration depth: the HA shape's load balancer configuration (deploy/ha/haproxy.cfg) run by
// Debian's HAProxy (installed by test/setup/ensure-services.sh, the version of the haproxy image),
// each listener moved to a free loopback port, under three descriptor limits. Every device
// connection it carries costs it two descriptors, so the connections it accepts must follow the
// limit of the host it runs on, not stop at a number written for one host.
const root = join(__dirname, '..', '..');
jest.setTimeout(60_000);

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flotilla-haproxy-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** deploy/ha/haproxy.cfg with its listeners on free loopback ports and an admin socket in `dir`. */
async function configuration(socket: string): Promise<string> {
  let cfg = await readFile(join(root, 'deploy/ha/haproxy.cfg'), 'utf8');
  for (const bind of cfg.match(/^ {2}bind :\d+$/gm) ?? []) cfg = cfg.replace(bind, `  bind 127.0.0.1:${await freePort()}`);
  return cfg.replace(/^global\n/m, `global\n  stats socket ${socket} level admin\n`);
}

function showInfo(socket: string): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    let out = '';
    const conn = createConnection(socket, () => conn.write('show info\n'));
    conn.on('data', (d: Buffer) => (out += d.toString()));
    conn.on('error', reject);
    conn.on('end', () => resolve(Object.fromEntries(out.split('\n').map((line) => line.split(': ') as [string, string]))));
  });
}

/** HAProxy's Maxconn under `ulimit -n` soft:hard (Docker 25 and later start containers at 1024:524288). */
async function maxconnUnder(limit: number, soft = limit): Promise<number> {
  const socket = join(dir, `admin-${soft}-${limit}.sock`);
  const cfg = join(dir, `haproxy-${soft}-${limit}.cfg`);
  await writeFile(cfg, await configuration(socket));
  const haproxy: ChildProcess = spawn('prlimit', [`--nofile=${soft}:${limit}`, 'haproxy', '-db', '-f', cfg], { stdio: 'ignore' });
  try {
    const info = await waitFor('HAProxy answering on its admin socket', () => showInfo(socket).catch(() => undefined), 20_000, 100);
    return Number(info['Maxconn']);
  } finally {
    if (haproxy.exitCode === null && haproxy.signalCode === null) {
      const exited = new Promise((resolve) => haproxy.once('exit', resolve));
      haproxy.kill('SIGKILL');
      await exited;
    }
  }
}

describe('deploy/ha/haproxy.cfg', () => {
  it.each([8_192, 19_000])('accepts about half as many connections as it may open descriptors (ulimit -n %i)', async (limit) => {
    const maxconn = await maxconnUnder(limit);
    expect(maxconn).toBeGreaterThanOrEqual(Math.floor(limit * 0.49));
    expect(maxconn).toBeLessThanOrEqual(limit / 2);
  });

  it('raises a low soft limit to the hard one first', async () => {
    expect(await maxconnUnder(19_000, 1_024)).toBeGreaterThanOrEqual(Math.floor(19_000 * 0.49));
  });
});
