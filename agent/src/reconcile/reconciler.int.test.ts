import { minimalComponent } from '@flotilla/shared';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import type { ComponentSpec } from '@flotilla/shared';
import { DockerRuntime } from '../runtime/docker-runtime';
import { EngineClient } from '../runtime/engine-client';
import { LABEL } from '../runtime/labels';
import { systemClock } from '../support/clock';
import { silentLogger } from '../support/logger';
import { Reconciler } from './reconciler';
import { targetFromDesired } from './target';

/**
 * Integration: plan + executors + loop against the real Docker Engine. Each run uses its
 * own assembly and component names, and removes what it made.
 */
const images = JSON.parse(readFileSync(join(__dirname, '../../../test/setup/.images.json'), 'utf8')) as { busybox: string };
const docker = new Docker();
const run = randomBytes(3).toString('hex');
const runtime = new DockerRuntime(EngineClient.fromEnv(), { scopeLabels: { 'io.flotilla.test-run': run } });
const assembly = `rc${run}`;
const db = `db${run}`;
const web = `web${run}`;

const component = (name: string, overrides: Partial<ComponentSpec>): ComponentSpec => minimalComponent(name, images.busybox, overrides);

function desired(webEnv: Record<string, string>): Parameters<typeof targetFromDesired>[0] {
  return {
    config: { SITE: 'test' },
    release: {
      id: '22222222-2222-4222-8222-222222222222',
      assembly: {
        name: assembly,
        version: '1.0.0',
        probationMs: 0,
        volumes: ['data'],
        networks: ['default'],
        components: [
          component(db, {
            command: ['sh', '-c', 'echo ready > /data/ready; exec httpd -f -p 8080 -h /data'],
            mounts: [{ type: 'volume', source: 'data', target: '/data', readOnly: false }],
            healthcheck: { test: ['CMD-SHELL', 'test -f /data/ready'], intervalMs: 300, retries: 3 },
          }),
          // The dependant checks at start that the dependency answers by name: service_healthy must have held.
          component(web, {
            command: ['sh', '-c', `wget -q -O /tmp/ready http://${db}:8080/ready && exec sleep 3600`],
            environment: webEnv,
            dependsOn: { [db]: 'service_healthy' },
            restart: 'no',
          }),
        ],
      },
    },
  };
}

const reconciler = new Reconciler({ runtime, clock: systemClock, logger: silentLogger, healthTimeoutMs: 20_000, healthPollMs: 250 });

async function ours() {
  return (await runtime.listContainers()).filter((c) => c.labels[LABEL.assembly] === assembly);
}

afterAll(async () => {
  for (const c of await ours())
    await docker
      .getContainer(c.id)
      .remove({ force: true })
      .catch(() => undefined);
  await docker
    .getNetwork(`flotilla_${assembly}_default`)
    .remove()
    .catch(() => undefined);
  await docker
    .getVolume(`flotilla_${assembly}_data`)
    .remove()
    .catch(() => undefined);
});

describe('Reconciler (real engine)', () => {
  jest.setTimeout(90_000);

  it('installs an assembly with a service_healthy dependency', async () => {
    const result = await reconciler.reconcile(targetFromDesired(desired({ MODE: 'a' })));
    expect(result.executed.map((s) => s.action)).toEqual([
      'create-network',
      'create-volume',
      'create-and-start',
      'wait-healthy',
      'create-and-start',
    ]);
    const containers = await ours();
    expect(containers.map((c) => [c.labels[LABEL.component], c.state]).sort()).toEqual([
      [db, 'running'],
      [web, 'running'],
    ]);
    const info = await docker.getContainer(containers.find((c) => c.labels[LABEL.component] === web)!.id).inspect();
    expect(info.Config.Env).toEqual(expect.arrayContaining(['MODE=a', 'SITE=test']));
  });

  it('is a no-op when nothing changed', async () => {
    expect((await reconciler.reconcile(targetFromDesired(desired({ MODE: 'a' })))).executed).toEqual([]);
  });

  it('replaces only the component whose environment changed', async () => {
    const before = Object.fromEntries((await ours()).map((c) => [c.labels[LABEL.component], c.id]));
    const result = await reconciler.reconcile(targetFromDesired(desired({ MODE: 'b' })));
    expect(result.executed.map((s) => s.action)).toEqual(['stop', 'remove', 'create-and-start']);
    const after = Object.fromEntries((await ours()).map((c) => [c.labels[LABEL.component], c.id]));
    expect(after[db]).toBe(before[db]);
    expect(after[web]).not.toBe(before[web]);
  });

  it('removes the assembly for a null target and keeps its volume', async () => {
    await reconciler.reconcile(null);
    expect(await ours()).toEqual([]);
    expect((await runtime.listNetworks()).some((n) => n.name === `flotilla_${assembly}_default`)).toBe(false);
    expect((await runtime.listVolumes()).some((v) => v.name === `flotilla_${assembly}_data`)).toBe(true);
  });
});
