import { minimalComponent } from '@flotilla/shared';
import type { ComponentSpec } from '@flotilla/shared';
import { InMemoryRuntime } from '../runtime/in-memory-runtime';
import { silentLogger } from '../support/logger';
import { instantClock } from '../support/test-clock';
import { HealthTimeoutError, HealthUnavailableError, ReconcileNotConvergingError } from './errors';
import { Reconciler } from './reconciler';
import { targetFromDesired } from './target';

const IMG = 'registry.local/app@sha256:' + 'a'.repeat(64);

const component = (name: string, overrides: Partial<ComponentSpec> = {}): ComponentSpec => minimalComponent(name, IMG, overrides);

function target(components: ComponentSpec[]) {
  const desired: Parameters<typeof targetFromDesired>[0] = {
    config: {},
    release: {
      id: '11111111-1111-4111-8111-111111111111',
      assembly: { name: 'origin', version: '1.0.0', probationMs: 0, components, volumes: ['data'], networks: ['default'] },
    },
  };
  return targetFromDesired(desired);
}

function setup() {
  const runtime = new InMemoryRuntime();
  runtime.registry.add(IMG);
  const clock = instantClock();
  const reconciler = new Reconciler({ runtime, clock, logger: silentLogger, healthTimeoutMs: 10_000, healthPollMs: 1_000 });
  return { runtime, clock, reconciler };
}

describe('Reconciler', () => {
  it('converges a fresh install in one pass and proves it with a second, empty plan', async () => {
    const { runtime, reconciler } = setup();
    const result = await reconciler.reconcile(
      target([component('web', { dependsOn: { db: 'service_healthy' } }), component('db', { healthcheck: { test: ['CMD', 'true'] } })]),
    );
    expect(result.passes).toBe(2);
    expect(runtime.calls).toEqual([
      'ensureNetwork flotilla_origin_default',
      'ensureVolume flotilla_origin_data',
      `pull ${IMG}`,
      expect.stringMatching(/^createAndStart flotilla_db_[0-9a-f]{12}$/),
      expect.stringMatching(/^createAndStart flotilla_web_[0-9a-f]{12}$/),
    ]);
    expect([...runtime.containers.values()].map((c) => c.labels['io.flotilla.spec-hash'])).toEqual([
      expect.stringMatching(/^sha256:/),
      expect.stringMatching(/^sha256:/),
    ]);
  });

  it('does nothing on an engine that already matches', async () => {
    const { runtime, reconciler } = setup();
    const t = target([component('web')]);
    await reconciler.reconcile(t);
    runtime.calls.length = 0;
    expect(await reconciler.reconcile(t)).toEqual({ passes: 1, executed: [] });
    expect(runtime.calls).toEqual([]);
  });

  it('fails a service_healthy wait after the timeout, naming the component', async () => {
    const { runtime, clock, reconciler } = setup();
    runtime.healthOf = (c) => (c === 'db' ? 'starting' : undefined);
    const err = await reconciler
      .reconcile(
        target([component('web', { dependsOn: { db: 'service_healthy' } }), component('db', { healthcheck: { test: ['CMD', 'true'] } })]),
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HealthTimeoutError);
    expect((err as HealthTimeoutError).component).toBe('db');
    expect((err as HealthTimeoutError).terminal).toBe(true);
    expect(clock.slept.reduce((a, b) => a + b, 0)).toBe(10_000);
    expect([...runtime.containers.keys()].some((name) => name.startsWith('flotilla_web_'))).toBe(false);
  });

  it('refuses to wait for health on a dependency without a health check', async () => {
    const { reconciler } = setup();
    await expect(
      reconciler.reconcile(target([component('web', { dependsOn: { db: 'service_healthy' } }), component('db')])),
    ).rejects.toBeInstanceOf(HealthUnavailableError);
  });

  it('gives up with a typed error when something keeps undoing its work', async () => {
    const { runtime, reconciler } = setup();
    const create = runtime.createAndStart.bind(runtime);
    runtime.createAndStart = async (req) => {
      const id = await create(req);
      runtime.containers.delete(req.name);
      return id;
    };
    await expect(reconciler.reconcile(target([component('web')]))).rejects.toBeInstanceOf(ReconcileNotConvergingError);
  });

  it('removes everything it manages for a null target, but keeps volumes', async () => {
    const { runtime, reconciler } = setup();
    await reconciler.reconcile(target([component('web'), component('db')]));
    await reconciler.reconcile(null);
    expect(runtime.containers.size).toBe(0);
    expect(runtime.networks.size).toBe(0);
    expect([...runtime.volumes.keys()]).toEqual(['flotilla_origin_data']);
  });
});
