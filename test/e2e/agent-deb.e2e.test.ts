import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import Docker from 'dockerode';
import type { DeviceView, ProvisioningTokenView, ReleaseView } from '@flotilla/shared';
import { startControlPlane, type RunningControlPlane } from '../../control-plane/src/bootstrap';
import { runTool } from '../../cli/src/images/tools';
import { buildAgentDeb } from '../../cli/src/packaging/build-agent-deb';
import { ApiClient } from '../support/api-client';
import { createScratchDatabase, type ScratchDatabase } from '../support/database';
import { waitFor } from '../support/wait';
import { testImages } from '../setup/services';

// The flotilla-agent package on a board that keeps its own OS: `npm run package`'s amd64
// .deb goes into a clean Debian 12 chroot with `apt install ./…deb`, is provisioned with
// `flotilla-agent provision FILE`, started as its systemd unit says (this test is the init:
// the unit's Environment and ExecStart, run in the chroot), registers with the control plane,
// runs a release on the host's Docker Engine, and goes with `apt remove` (the containers stay,
// as documented) and `apt purge` (the identity too).
//
// The chroot is made once with debootstrap (Debian 12 minbase plus nodejs, the package's
// dependency, ~2 min and the only network use) and cached under /tmp/flotilla-test; each
// run works on a copy, so apt resolves the dependency offline.
jest.setTimeout(300_000);

const CACHE = join(process.env.FLOTILLA_TEST_STATE || '/tmp/flotilla-test', 'debian12-nodejs-chroot');
const apiKey = 'deb-e2e-operator-key-0123456789abcdef';
const assemblyName = `deb-${Date.now().toString(36)}`;
const docker = new Docker();

let dir: string;
let chroot: string;
let db: ScratchDatabase;
let cp: RunningControlPlane;
let api: ApiClient;
let agent: ChildProcess | undefined;
let agentLog = '';
const mounts: string[] = [];
const timings: Record<string, string> = {};

const inChroot = (argv: string[]) =>
  runTool('chroot', [chroot, ...argv], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', DEBIAN_FRONTEND: 'noninteractive' } });
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

async function cachedChroot(): Promise<string> {
  if (existsSync(join(CACHE, 'usr', 'bin', 'node'))) return CACHE;
  const partial = `${CACHE}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  await runTool('debootstrap', ['--variant=minbase', '--include=nodejs', 'bookworm', partial]); // installed by test/setup/ensure-services.sh
  renameSync(partial, CACHE);
  return CACHE;
}

/** The unit's Environment= assignments and ExecStart= argv, as systemd would run them. */
function unitCommand(unit: string): { env: string[]; argv: string[] } {
  const env = [...unit.matchAll(/^Environment=(.+)$/gm)].map((m) => m[1]);
  const exec = /^ExecStart=(.+)$/m.exec(unit);
  if (!exec) throw new Error('the unit has no ExecStart');
  return { env, argv: exec[1].split(/\s+/) };
}

async function agentContainers(): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`io.flotilla.assembly=${assemblyName}`] } });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-deb-'));
  const started = Date.now();
  const cache = await cachedChroot();
  chroot = join(dir, 'debian12');
  await runTool('cp', ['-a', cache, chroot]);
  timings['clean Debian 12 chroot (cached debootstrap, copied)'] = seconds(started);
  await runTool('mount', ['-t', 'proc', 'proc', join(chroot, 'proc')]);
  mounts.push(join(chroot, 'proc'));
  // The host's engine, as a board's own Docker would be.
  writeFileSync(join(chroot, 'run', 'docker.sock'), '');
  await runTool('mount', ['--bind', '/var/run/docker.sock', join(chroot, 'run', 'docker.sock')]);
  mounts.push(join(chroot, 'run', 'docker.sock'));

  db = await createScratchDatabase('e2e_deb');
  cp = await startControlPlane({ host: '127.0.0.1', port: 0, mqttPort: 0, databaseUrl: db.url, dataDir: join(dir, 'cp'), apiKey });
  api = new ApiClient(cp.httpUrl, apiKey);
});

afterAll(async () => {
  agent?.kill('SIGKILL');
  for (const c of await agentContainers().catch(() => [])) await docker.getContainer(c.Id).remove({ force: true });
  // `apt remove` leaves the assembly in place (as documented), its network too: the engine has room for only ~30.
  const networks = await docker.listNetworks({ filters: { label: [`io.flotilla.assembly=${assemblyName}`] } }).catch(() => []);
  for (const n of networks) await docker.getNetwork(n.Id).remove();
  let unmounted = true;
  for (const m of mounts.reverse()) await runTool('umount', [m]).catch(() => (unmounted = false));
  await cp?.close();
  await db?.drop();
  // Never delete through a mount still in place (the chroot's /proc, the host's docker.sock).
  if (dir && unmounted) rmSync(dir, { recursive: true, force: true });
  console.log(
    `agent package figures:\n${Object.entries(timings)
      .map(([k, v]) => `  ${k}: ${v}`)
      .join('\n')}`,
  );
});

describe('the flotilla-agent Debian package', () => {
  let deb: string;

  it('builds offline with dpkg-deb: the agent, its command, a supervised unit, config and state where Debian puts them', async () => {
    const started = Date.now();
    deb = await buildAgentDeb({ version: '0.1.0', arch: 'amd64', outDir: dir });
    timings['npm run package (one architecture)'] = seconds(started);
    expect(basename(deb)).toBe('flotilla-agent_0.1.0_amd64.deb');
    const fields = (await runTool('dpkg-deb', ['-f', deb])).stdout.toString();
    expect(fields).toMatch(/^Depends: nodejs \(>= 18\)$/m);
    expect(fields).toMatch(/^Architecture: amd64$/m);
    const contents = (await runTool('dpkg-deb', ['-c', deb])).stdout.toString();
    for (const path of [
      './usr/bin/flotilla-agent',
      './usr/lib/flotilla-agent/agent.js',
      './usr/lib/flotilla-agent/launcher.js',
      './lib/systemd/system/flotilla-agent.service',
      './etc/flotilla/agent.env',
    ])
      expect(contents).toContain(path);
  });

  it('installs with apt into a clean Debian 12, registers from a provisioning file and runs a release', async () => {
    let started = Date.now();
    writeFileSync(join(chroot, 'tmp', basename(deb)), readFileSync(deb));
    // chroot(1) starts in the new root, so this is `apt install ./flotilla-agent_…deb` from /tmp.
    await inChroot(['sh', '-c', `cd /tmp && apt-get install -y --no-install-recommends ./${basename(deb)}`]);
    timings['apt install ./flotilla-agent_0.1.0_amd64.deb'] = seconds(started);
    expect((await inChroot(['dpkg-query', '-W', '-f', '${Status} ${Version}', 'flotilla-agent'])).stdout.toString()).toBe(
      'install ok installed 0.1.0',
    );
    const unit = readFileSync(join(chroot, 'lib/systemd/system/flotilla-agent.service'), 'utf8');
    expect(unit).toMatch(/^WatchdogSec=60s$/m);
    expect(unit).toMatch(
      /^ExecStart=\/usr\/bin\/node --max-semi-space-size=1 --lite-mode \/usr\/lib\/flotilla-agent\/launcher\.js \/usr\/lib\/flotilla-agent\/agent\.js$/m,
    );

    const token = await api.post<ProvisioningTokenView>('/api/v1/provisioning-tokens', { maxUses: 1 });
    writeFileSync(join(chroot, 'tmp', 'provisioning.json'), JSON.stringify({ ...token.body.provisioning, name: 'deb-board' }));
    const provisioned = await inChroot(['flotilla-agent', 'provision', '/tmp/provisioning.json']);
    expect(provisioned.stdout.toString()).toContain(`provisioned: the agent registers with ${token.body.provisioning.apiUrl}`);
    await expect(inChroot(['flotilla-agent', 'provision', '/etc/hostname'])).rejects.toThrow();

    started = Date.now();
    const { env, argv } = unitCommand(unit);
    agent = spawn(
      'chroot',
      [
        chroot,
        '/usr/bin/env',
        '-i',
        'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
        ...env,
        `FLOTILLA_SCOPE_LABEL=io.flotilla.test=${assemblyName}`,
        'FLOTILLA_REPORT_INTERVAL_MS=2000',
        ...argv,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    agent.stdout!.on('data', (c: Buffer) => (agentLog += c.toString()));
    agent.stderr!.on('data', (c: Buffer) => (agentLog += c.toString()));
    const device = await waitFor(
      'the packaged agent to register and report',
      async () => {
        const list = await api.get<DeviceView[] | { items: DeviceView[] }>('/api/v1/devices');
        return (Array.isArray(list.body) ? list.body : list.body.items).find((d) => d.name === 'deb-board' && d.online && d.reported);
      },
      60_000,
      500,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n--- agent ---\n${agentLog.slice(-3000)}`);
    });
    timings['agent start to registered and reporting'] = seconds(started);

    const { busybox } = testImages();
    const release = await api.post<ReleaseView>(
      '/api/v1/releases',
      `name: ${assemblyName}\nx-flotilla:\n  version: 1.0.0\n  update: { probation: 1s }\nservices:\n  worker:\n    image: ${busybox}\n    command: sleep 3600\n`,
      'application/yaml',
    );
    expect(release.status).toBe(201);
    started = Date.now();
    expect((await api.put(`/api/v1/devices/${device.id}/release`, { releaseId: release.body.id })).status).toBe(200);
    await waitFor(
      'release 1.0.0 running on the packaged agent',
      async () => {
        const d = (await api.get<DeviceView>(`/api/v1/devices/${device.id}`)).body;
        const update = d.reported?.update;
        return update?.phase === 'idle' && update.active?.version === '1.0.0' ? d : undefined;
      },
      90_000,
      500,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n--- agent ---\n${agentLog.slice(-3000)}`);
    });
    timings['assign to release running'] = seconds(started);
    const containers = await agentContainers();
    expect(containers.map((c) => c.State)).toEqual(['running']);
    expect((await inChroot(['flotilla-agent', 'status'])).stdout.toString()).toContain('1.0.0');
  });

  it('goes with apt remove, leaving the running containers and the identity; apt purge takes the identity too', async () => {
    const exited = new Promise((resolve) => agent!.once('exit', resolve));
    agent!.kill('SIGTERM');
    await exited;
    agent = undefined;
    await inChroot(['apt-get', 'remove', '-y', 'flotilla-agent']);
    for (const gone of ['usr/bin/flotilla-agent', 'usr/lib/flotilla-agent', 'lib/systemd/system/flotilla-agent.service'])
      expect(existsSync(join(chroot, gone))).toBe(false);
    expect((await inChroot(['dpkg-query', '-W', '-f', '${Status}', 'flotilla-agent'])).stdout.toString()).toBe('deinstall ok config-files');
    expect(existsSync(join(chroot, 'etc/flotilla/agent.env'))).toBe(true);
    expect(existsSync(join(chroot, 'var/lib/flotilla'))).toBe(true);
    expect((await agentContainers()).map((c) => c.State)).toEqual(['running']);

    await inChroot(['apt-get', 'purge', '-y', 'flotilla-agent']);
    expect(existsSync(join(chroot, 'var/lib/flotilla'))).toBe(false);
    expect(existsSync(join(chroot, 'etc/flotilla'))).toBe(false);
  });
});
