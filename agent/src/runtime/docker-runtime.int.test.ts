import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import type { ComponentSpec } from '@flotilla/shared';
import { DockerRuntime } from './docker-runtime';
import { freePort } from '../../../test/support/ports';
import { EngineClient } from './engine-client';
import { ImageNotFoundError } from './errors';
import { LABEL, containerName, resourceLabels, resourceName } from './labels';

/**
 * Integration: the real Docker Engine and the local registry from test/setup/ensure-services.sh.
 * Every object carries this run's suffix and is removed afterwards, so runs never collide.
 */
const images = JSON.parse(readFileSync(join(__dirname, '../../../test/setup/.images.json'), 'utf8')) as { busybox: string };
const docker = new Docker();
const run = randomBytes(3).toString('hex');
const scope = { 'io.flotilla.test-run': run };
const runtime = new DockerRuntime(EngineClient.fromEnv(), { scopeLabels: scope });
const assembly = `it${run}`;
const component = `web${run}`;
const name = containerName(component, 'sha256:' + run.repeat(4));
const network = resourceName(assembly, 'default');
const volume = resourceName(assembly, 'data');
let hostPort = 0;

beforeAll(async () => {
  hostPort = await freePort();
});

function webSpec(overrides: Partial<ComponentSpec> = {}): ComponentSpec {
  return {
    name: component,
    image: images.busybox,
    environment: { GREETING: 'hello world', EMPTY: '' },
    command: ['sh', '-c', 'echo "started $GREETING"; echo "to stderr" >&2; exec httpd -f -p 8080 -h /data'],
    ports: [{ container: 8080, host: hostPort, hostIp: '127.0.0.1', protocol: 'tcp' }],
    mounts: [{ type: 'volume', source: 'data', target: '/data', readOnly: false }],
    restart: 'unless-stopped',
    healthcheck: { test: ['CMD-SHELL', 'test -d /data'], intervalMs: 500, timeoutMs: 2_000, retries: 3 },
    dependsOn: {},
    labels: { 'org.example.team': 'kiosk' },
    devices: [],
    capAdd: ['NET_ADMIN'],
    memLimitBytes: 64 * 1024 * 1024,
    cpus: 0.5,
    networks: ['default'],
    update: 'download-then-switch',
    ...overrides,
  };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function execExitCode(container: string, cmd: string[]): Promise<number> {
  const exec = await docker.getContainer(container).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  stream.resume();
  await new Promise((r) => stream.on('end', r));
  return (await exec.inspect()).ExitCode ?? -1;
}

afterAll(async () => {
  await docker
    .getContainer(name)
    .remove({ force: true })
    .catch(() => undefined);
  await docker
    .getNetwork(network)
    .remove()
    .catch(() => undefined);
  await docker
    .getVolume(volume)
    .remove()
    .catch(() => undefined);
});

describe('DockerRuntime (real engine)', () => {
  jest.setTimeout(60_000);

  it('pulls the test image by digest and then has it', async () => {
    const progress: string[] = [];
    await runtime.pullImage(images.busybox, (p) => progress.push(p.status));
    expect(progress.length).toBeGreaterThan(0);
    expect(await runtime.hasImage(images.busybox)).toBe(true);
  });

  it('reports an image the registry does not have as terminal ImageNotFoundError', async () => {
    const missing = `127.0.0.1:5000/flotilla/missing${run}@sha256:${'0'.repeat(64)}`;
    expect(await runtime.hasImage(missing)).toBe(false);
    await expect(runtime.pullImage(missing)).rejects.toBeInstanceOf(ImageNotFoundError);
  });

  it('creates network and volume once, labelled, and lists them as managed', async () => {
    await runtime.ensureNetwork(network, resourceLabels(assembly));
    await runtime.ensureNetwork(network, resourceLabels(assembly));
    await runtime.ensureVolume(volume, resourceLabels(assembly));
    await runtime.ensureVolume(volume, resourceLabels(assembly));
    expect(await runtime.listNetworks()).toEqual([{ name: network, labels: { ...resourceLabels(assembly), ...scope } }]);
    expect(await runtime.listVolumes()).toEqual([{ name: volume, labels: { ...resourceLabels(assembly), ...scope } }]);
    const other = new DockerRuntime(EngineClient.fromEnv(), { scopeLabels: { 'io.flotilla.test-run': 'other' } });
    expect((await other.listNetworks()).some((n) => n.name === network)).toBe(false);
    // Another agent must not adopt them: a clear, terminal error instead of a plan that never converges.
    await expect(other.ensureNetwork(network, resourceLabels(assembly))).rejects.toMatchObject({
      code: 'foreign-resource',
      terminal: true,
    });
    await expect(other.ensureVolume(volume, resourceLabels(assembly))).rejects.toThrow(/exists but was not created by this agent/);
  });

  it('creates and starts a container from a ComponentSpec with env, ports, mounts, limits and labels', async () => {
    const labels = { ...resourceLabels(assembly), [LABEL.component]: component, [LABEL.release]: 'r1', [LABEL.specHash]: 'sha256:x' };
    const id = await runtime.createAndStart({ name, assembly, spec: webSpec(), labels });
    const info = await docker.getContainer(id).inspect();
    expect(info.Name).toBe(`/${name}`);
    expect(info.Config.Env).toEqual(expect.arrayContaining(['GREETING=hello world', 'EMPTY=']));
    expect(info.Config.Labels).toMatchObject({ ...labels, ...scope, 'org.example.team': 'kiosk' });
    expect(info.HostConfig.PortBindings).toEqual({ '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: String(hostPort) }] });
    expect(info.HostConfig.Init).toBe(true);
    expect(info.HostConfig.RestartPolicy?.Name).toBe('unless-stopped');
    expect(info.HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(info.HostConfig.NanoCpus).toBe(500_000_000);
    expect(info.HostConfig.CapAdd).toEqual(['NET_ADMIN']);
    expect(info.Config.Healthcheck?.Interval).toBe(500_000_000);
    expect(info.Mounts).toEqual([expect.objectContaining({ Type: 'volume', Name: volume, Destination: '/data', RW: true })]);
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([network]);
    expect(info.NetworkSettings.Networks[network]!.Aliases).toEqual(expect.arrayContaining([component]));
  });

  it('serves on the published port and resolves the component by name on its network', async () => {
    await docker.getContainer(name).putArchive(await tarOf('index.html', 'flotilla\n'), { path: '/data' });
    const body = await waitFor('http answer', async () => {
      const res = await fetch(`http://127.0.0.1:${hostPort}/index.html`).catch(() => undefined);
      return res?.ok ? res.text() : undefined;
    });
    expect(body).toBe('flotilla\n');
    expect(await execExitCode(name, ['wget', '-q', '-O', '/dev/null', `http://${component}:8080/index.html`])).toBe(0);
  });

  it('reports health from the health check and lists the container with its state', async () => {
    const health = await waitFor('healthy', async () => {
      const h = await runtime.inspectHealth(name);
      return h.health === 'healthy' ? h : undefined;
    });
    expect(health).toEqual({ state: 'running', health: 'healthy' });
    const listed = (await runtime.listContainers()).find((c) => c.name === name);
    expect(listed).toMatchObject({ image: images.busybox, state: 'running', health: 'healthy', restartCount: 0 });
    expect(listed?.labels[LABEL.component]).toBe(component);
  });

  it('returns logs as plain text, without the multiplexing headers', async () => {
    const logs = await runtime.logs(name, { tail: 50 });
    expect(logs).toMatch(/^\S+Z started hello world$/m);
    expect(logs).toMatch(/^\S+Z to stderr$/m);
    // Frame headers start with a stream byte (1 or 2) and zero padding: none may be left in the text.
    expect([...logs].filter((ch) => ch.charCodeAt(0) < 9)).toEqual([]);
  });

  it('follows logs for the time asked, then returns what came, demultiplexed', async () => {
    const started = Date.now();
    const logs = await runtime.logs(name, { tail: 50, followMs: 800 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    expect(logs).toMatch(/^\S+Z started hello world$/m);
    expect(logs).toMatch(/^\S+Z to stderr$/m);
    expect([...logs].filter((ch) => ch.charCodeAt(0) < 9)).toEqual([]);
  });

  it('restarts a component: running again, started anew', async () => {
    const before = (await runtime.listContainers()).find((c) => c.name === name)!;
    await runtime.restart(name);
    const after = (await runtime.listContainers()).find((c) => c.name === name)!;
    expect(after.state).toBe('running');
    expect(after.startedAt).not.toBe(before.startedAt);
  });

  it('stops quickly, then removes, and both are idempotent', async () => {
    const started = Date.now();
    await runtime.stop(name);
    expect(Date.now() - started).toBeLessThan(5_000);
    await runtime.stop(name);
    expect((await runtime.inspectHealth(name)).state).toBe('exited');
    await runtime.remove(name);
    await runtime.remove(name);
    expect(await runtime.inspectHealth(name)).toEqual({ state: 'missing', health: 'none' });
    await runtime.removeNetwork(network);
    await runtime.removeNetwork(network);
    expect((await runtime.listNetworks()).some((n) => n.name === network)).toBe(false);
  });
});

/** A one-file tar archive, as the engine's putArchive expects. */
async function tarOf(file: string, content: string): Promise<Buffer> {
  const body = Buffer.from(content);
  const header = Buffer.alloc(512);
  header.write(file, 0);
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(body.length.toString(8).padStart(11, '0') + '\0', 124);
  header.write(
    Math.floor(Date.now() / 1000)
      .toString(8)
      .padStart(11, '0') + '\0',
    136,
  );
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0' + '00', 257);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  const padding = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([header, body, padding, Buffer.alloc(1024)]);
}
