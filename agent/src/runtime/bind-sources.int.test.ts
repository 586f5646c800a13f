import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { minimalComponent, type MountSpec } from '@flotilla/shared';
import { testImages } from '../../../test/setup/services';
import { DockerRuntime } from './docker-runtime';
import { EngineClient } from './engine-client';
import { containerName, resourceLabels } from './labels';

/**
 * Integration (real Docker Engine, real host directories): a bind mount reaches only the
 * directory its path names. The host policy allows by path; the kernel follows links.
 */
const docker = new Docker();
const run = randomBytes(3).toString('hex');
const runtime = new DockerRuntime(EngineClient.fromEnv(), { scopeLabels: { 'io.flotilla.test-run': run } });
const assembly = `bind${run}`;
const created: string[] = [];
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flotilla-bind-'));
  // "allowed" is what a fleet policy would allow; "outside" stands for the rest of the host.
  await mkdir(join(dir, 'allowed', 'real'), { recursive: true });
  await mkdir(join(dir, 'outside'));
  await writeFile(join(dir, 'outside', 'secret'), 'host secret\n');
  await writeFile(join(dir, 'allowed', 'real', 'note'), 'allowed note\n');
  await symlink(join(dir, 'outside'), join(dir, 'allowed', 'link'));
});

afterAll(async () => {
  for (const name of created)
    await docker
      .getContainer(name)
      .remove({ force: true })
      .catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

function start(source: string, file: string): Promise<string> {
  const mount: MountSpec = { type: 'bind', source, target: '/host', readOnly: true };
  const spec = minimalComponent(`c${created.length}`, testImages().busybox, {
    mounts: [mount],
    command: ['cat', `/host/${file}`],
    restart: 'no',
    networks: [],
  });
  const name = containerName(spec.name, `sha256:${run}${created.length}`.padEnd(19, '0'));
  created.push(name);
  return runtime.createAndStart({ name, assembly, spec, labels: resourceLabels(assembly) });
}

async function output(id: string): Promise<string> {
  await docker.getContainer(id).wait();
  return (await docker.getContainer(id).logs({ stdout: true, stderr: true })).toString('utf8');
}

describe('bind mounts on a real engine', () => {
  it('mounts a real directory, and one the engine is to create', async () => {
    expect(await output(await start(join(dir, 'allowed', 'real'), 'note'))).toContain('allowed note');
    await expect(start(join(dir, 'allowed', 'new', 'sub'), 'nothing')).resolves.toEqual(expect.any(String));
  });

  it('refuses a path through a symbolic link, as a terminal error, creating nothing', async () => {
    const before = (await runtime.listContainers()).length;
    await expect(start(join(dir, 'allowed', 'link'), 'secret')).rejects.toMatchObject({ code: 'unsafe-bind-source', terminal: true });
    await expect(start(join(dir, 'allowed', 'link', 'deeper'), 'secret')).rejects.toThrow(/is a symbolic link on this device/);
    expect((await runtime.listContainers()).length).toBe(before);
  });

  it('refuses a path not in normal form, which the kernel would resolve through links the policy never saw', async () => {
    await expect(start(`${join(dir, 'allowed', 'real')}/../link`, 'secret')).rejects.toMatchObject({ code: 'unsafe-bind-source' });
    await expect(start(`${join(dir, 'allowed', 'real')}/`, 'note')).rejects.toThrow(/not in normal form/);
  });
});
