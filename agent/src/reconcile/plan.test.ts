import { minimalComponent } from '@flotilla/shared';
import type { ComponentSpec } from '@flotilla/shared';
import type { ManagedContainer } from '../runtime/container-runtime';
import { LABEL, containerName } from '../runtime/labels';
import { dependencyOrder, plan } from './plan';
import type { ObservedState, TargetState } from './state';
import type { Step } from './steps';
import { targetFromDesired } from './target';

const IMG_A = 'registry.local/app@sha256:' + 'a'.repeat(64);
const IMG_B = 'registry.local/app@sha256:' + 'b'.repeat(64);
const RELEASE_ID = '11111111-1111-4111-8111-111111111111';

const component = (name: string, overrides: Partial<ComponentSpec> = {}): ComponentSpec => minimalComponent(name, IMG_A, overrides);

function desired(
  components: ComponentSpec[],
  config: Record<string, string> = {},
  extra: { volumes?: string[]; name?: string } = {},
): Parameters<typeof targetFromDesired>[0] {
  return {
    config,
    release: {
      id: RELEASE_ID,
      assembly: {
        name: extra.name ?? 'origin',
        version: '1.0.0',
        probationMs: 30_000,
        components,
        volumes: extra.volumes ?? [],
        networks: ['default'],
      },
    },
  };
}

function target(...args: Parameters<typeof desired>): TargetState {
  return targetFromDesired(desired(...args))!;
}

const empty: ObservedState = { containers: [], networks: [], volumes: [], images: [] };

/** Carries out steps on plain data the way a perfect engine would; containers start healthy. */
function simulate(state: ObservedState, steps: Step[]): ObservedState {
  let next: ObservedState = { ...state, containers: [...state.containers] };
  for (const step of steps) {
    switch (step.action) {
      case 'create-network':
        next = { ...next, networks: [...next.networks, step.network] };
        break;
      case 'remove-network':
        next = { ...next, networks: next.networks.filter((n) => n !== step.network) };
        break;
      case 'create-volume':
        next = { ...next, volumes: [...next.volumes, step.volume] };
        break;
      case 'pull':
        next = { ...next, images: [...next.images, step.image] };
        break;
      case 'stop':
        next = { ...next, containers: next.containers.map((c) => (c.name === step.container ? { ...c, state: 'exited' } : c)) };
        break;
      case 'remove':
        next = { ...next, containers: next.containers.filter((c) => c.name !== step.container) };
        break;
      case 'create-and-start': {
        if (!next.images.includes(step.component.spec.image))
          throw new Error(`started ${step.component.containerName} before pulling its image`);
        if (next.containers.some((c) => c.name === step.component.containerName))
          throw new Error(`name ${step.component.containerName} still taken`);
        next = {
          ...next,
          containers: [...next.containers, running(step.component.spec.name, step.component.specHash, step.component.spec.image)],
        };
        break;
      }
      case 'wait-healthy':
        break;
    }
  }
  return next;
}

function running(name: string, specHash: string, image = IMG_A, overrides: Partial<ManagedContainer> = {}): ManagedContainer {
  return {
    id: `id-${name}`,
    name: containerName(name, specHash),
    image,
    state: 'running',
    health: 'healthy',
    restartCount: 0,
    labels: {
      [LABEL.managed]: 'true',
      [LABEL.assembly]: 'origin',
      [LABEL.component]: name,
      [LABEL.release]: RELEASE_ID,
      [LABEL.specHash]: specHash,
    },
    ...overrides,
  };
}

function actions(steps: Step[]): string[] {
  return steps.map((s) => {
    switch (s.action) {
      case 'create-and-start':
        return `create-and-start ${s.component.spec.name}`;
      case 'pull':
        return `pull ${s.image === IMG_A ? 'A' : 'B'}`;
      case 'create-network':
      case 'remove-network':
        return `${s.action} ${s.network}`;
      case 'create-volume':
        return `${s.action} ${s.volume}`;
      default:
        return `${s.action} ${s.component}`;
    }
  });
}

/** The state a device reaches by applying `t` to an empty engine. */
function installed(t: TargetState): ObservedState {
  return simulate(empty, plan(empty, t));
}

describe('plan', () => {
  it('installs a fresh assembly: network, volume, one pull per image in start order, then containers', () => {
    const t = target([component('web'), component('api', { image: IMG_B }), component('db')], {}, { volumes: ['data'] });
    expect(actions(plan(empty, t))).toEqual([
      'create-network flotilla_origin_default',
      'create-volume flotilla_origin_data',
      'pull B',
      'pull A',
      'create-and-start api',
      'create-and-start db',
      'create-and-start web',
    ]);
  });

  it('returns no steps when the device already runs the target', () => {
    const t = target([component('web'), component('db')]);
    expect(plan(installed(t), t)).toEqual([]);
  });

  it('is level-based: planning again after executing the plan returns nothing', () => {
    const before = target([component('web'), component('old')]);
    const after = target([component('web', { environment: { MODE: 'x' } }), component('new', { image: IMG_B })]);
    const state = simulate(installed(before), plan(installed(before), after));
    expect(plan(state, after)).toEqual([]);
  });

  it('replaces exactly the one component whose environment changed', () => {
    const before = target([component('web'), component('api'), component('db')]);
    const after = target([component('web'), component('api', { environment: { LOG: 'debug' } }), component('db')]);
    expect(actions(plan(installed(before), after))).toEqual(['stop api', 'remove api', 'create-and-start api']);
  });

  it('replaces every component when a device config value changes, since all receive it', () => {
    const before = target([component('web'), component('db')], { TZ: 'UTC' });
    const after = target([component('web'), component('db')], { TZ: 'Europe/Paris' });
    expect(actions(plan(installed(before), after))).toEqual([
      'stop web',
      'remove web',
      'stop db',
      'remove db',
      'create-and-start db',
      'create-and-start web',
    ]);
  });

  it('merges device config over the component environment and hashes it', () => {
    const t = target([component('web', { environment: { A: '1', B: '2' } })], { B: 'device' });
    expect(t.components[0]!.spec.environment).toEqual({ A: '1', B: 'device' });
    expect(t.components[0]!.specHash).not.toEqual(target([component('web', { environment: { A: '1', B: '2' } })]).components[0]!.specHash);
  });

  it('stops and removes components the target no longer has', () => {
    const before = target([component('web'), component('legacy')]);
    const after = target([component('web')]);
    expect(actions(plan(installed(before), after))).toEqual(['stop legacy', 'remove legacy']);
  });

  it('removes every managed container and network when the target is null', () => {
    const t = target([component('web'), component('db')]);
    expect(actions(plan(installed(t), null))).toEqual([
      'stop db',
      'remove db',
      'stop web',
      'remove web',
      'remove-network flotilla_origin_default',
    ]);
    expect(plan(simulate(installed(t), plan(installed(t), null)), null)).toEqual([]);
  });

  it('pulls every new image before stopping anything (download-then-switch)', () => {
    const before = target([component('web'), component('api')]);
    const after = target([component('web', { image: IMG_B }), component('api', { image: IMG_B })]);
    expect(actions(plan(installed(before), after))).toEqual([
      'pull B',
      'stop web',
      'remove web',
      'stop api',
      'remove api',
      'create-and-start api',
      'create-and-start web',
    ]);
  });

  it('pulls after stopping for switch-then-download, to free disk first', () => {
    const before = target([component('web')]);
    const after = target([component('web', { image: IMG_B, update: 'switch-then-download' })]);
    expect(actions(plan(installed(before), after))).toEqual(['stop web', 'remove web', 'pull B', 'create-and-start web']);
  });

  it('does not pull an image the engine already has', () => {
    const t = target([component('web')]);
    expect(actions(plan({ ...empty, networks: ['flotilla_origin_default'], images: [IMG_A] }, t))).toEqual(['create-and-start web']);
  });

  it('starts dependencies before their dependants', () => {
    const t = target([
      component('web', { dependsOn: { api: 'service_started' } }),
      component('api', { dependsOn: { db: 'service_started' } }),
      component('db'),
    ]);
    expect(actions(plan(empty, t)).filter((a) => a.startsWith('create-and-start'))).toEqual([
      'create-and-start db',
      'create-and-start api',
      'create-and-start web',
    ]);
  });

  it('stops dependants before their dependencies', () => {
    const deps = { api: 'service_started' as const };
    const before = target([component('web', { dependsOn: deps }), component('api')]);
    const after = target([component('web', { dependsOn: deps, image: IMG_B }), component('api', { image: IMG_B })]);
    expect(actions(plan(installed(before), after)).filter((a) => a.startsWith('stop'))).toEqual(['stop web', 'stop api']);
  });

  it('waits for a service_healthy dependency before starting the dependant', () => {
    const t = target([
      component('web', { dependsOn: { db: 'service_healthy' } }),
      component('db', { healthcheck: { test: ['CMD', 'true'] } }),
    ]);
    expect(actions(plan(empty, t)).slice(-3)).toEqual(['create-and-start db', 'wait-healthy db', 'create-and-start web']);
  });

  it('skips the wait when the unchanged dependency is already healthy', () => {
    const db = component('db', { healthcheck: { test: ['CMD', 'true'] } });
    const before = target([component('web', { dependsOn: { db: 'service_healthy' } }), db]);
    const after = target([component('web', { dependsOn: { db: 'service_healthy' }, environment: { X: '1' } }), db]);
    expect(actions(plan(installed(before), after))).toEqual(['stop web', 'remove web', 'create-and-start web']);
  });

  it('waits when the unchanged dependency is not healthy yet', () => {
    const db = component('db', { healthcheck: { test: ['CMD', 'true'] } });
    const before = target([component('web', { dependsOn: { db: 'service_healthy' } }), db]);
    const after = target([component('web', { dependsOn: { db: 'service_healthy' }, environment: { X: '1' } }), db]);
    const state = installed(before);
    const starting = {
      ...state,
      containers: state.containers.map((c) => (c.labels[LABEL.component] === 'db' ? { ...c, health: 'starting' as const } : c)),
    };
    expect(actions(plan(starting, after))).toEqual(['stop web', 'remove web', 'wait-healthy db', 'create-and-start web']);
  });

  it('replaces an exited container whose restart policy says it should run', () => {
    const t = target([component('web'), component('db')]);
    const state = installed(t);
    const exited = {
      ...state,
      containers: state.containers.map((c) => (c.labels[LABEL.component] === 'web' ? { ...c, state: 'exited' as const } : c)),
    };
    expect(actions(plan(exited, t))).toEqual(['remove web', 'create-and-start web']);
  });

  it('leaves an exited one-shot component (restart "no") alone', () => {
    const t = target([component('migrate', { restart: 'no' })]);
    const state = installed(t);
    const exited = { ...state, containers: state.containers.map((c) => ({ ...c, state: 'exited' as const })) };
    expect(plan(exited, t)).toEqual([]);
  });

  it('replaces a container that was created but never started, or is dead', () => {
    const t = target([component('web'), component('db')]);
    const state = installed(t);
    const broken = {
      ...state,
      containers: state.containers.map((c) => ({
        ...c,
        state: c.labels[LABEL.component] === 'web' ? ('created' as const) : ('dead' as const),
      })),
    };
    expect(actions(plan(broken, t))).toEqual(['remove web', 'remove db', 'create-and-start db', 'create-and-start web']);
  });

  it('leaves a restarting container to the engine', () => {
    const t = target([component('web')]);
    const state = installed(t);
    expect(plan({ ...state, containers: state.containers.map((c) => ({ ...c, state: 'restarting' as const })) }, t)).toEqual([]);
  });

  it('replaces everything when the assembly is renamed, and drops its old network', () => {
    const before = target([component('web')]);
    const after = target([component('web')], {}, { name: 'other' });
    expect(actions(plan(installed(before), after))).toEqual([
      'create-network flotilla_other_default',
      'stop web',
      'remove web',
      'create-and-start web',
      'remove-network flotilla_origin_default',
    ]);
  });

  it('removes a duplicate container of one component and keeps the good one', () => {
    const t = target([component('web')]);
    const state = installed(t);
    const stray = running('web', 'sha256:old', IMG_A, { id: 'id-stray', name: 'flotilla_web_old' });
    expect(plan({ ...state, containers: [...state.containers, stray] }, t)).toEqual([
      { action: 'stop', container: 'flotilla_web_old', component: 'web' },
      { action: 'remove', container: 'flotilla_web_old', component: 'web' },
    ]);
  });

  it('never removes volumes, even when the target is null', () => {
    const t = target([component('web')], {}, { volumes: ['data'] });
    expect(plan(installed(t), null).some((s) => s.action === ('remove-volume' as string))).toBe(false);
  });
});

describe('plan: hand-over', () => {
  it('starts the new container beside the old one, waits for its health, then stops the old one', () => {
    const check = { healthcheck: { test: ['CMD', 'true'] } };
    const before = target([component('web', { update: 'hand-over', ...check })]);
    const after = target([component('web', { update: 'hand-over', image: IMG_B, ...check })]);
    expect(actions(plan(installed(before), after))).toEqual([
      'pull B',
      'create-and-start web',
      'wait-healthy web',
      'stop web',
      'remove web',
    ]);
    const waited = plan(installed(before), after).find((s) => s.action === 'wait-healthy');
    expect(waited).toMatchObject({ container: after.components[0]!.containerName });
    expect(after.components[0]!.containerName).not.toEqual(before.components[0]!.containerName);
  });

  it('stops the old one right after the new one starts when there is no health check', () => {
    const before = target([component('web', { update: 'hand-over' })]);
    const after = target([component('web', { update: 'hand-over', image: IMG_B })]);
    expect(actions(plan(installed(before), after))).toEqual(['pull B', 'create-and-start web', 'stop web', 'remove web']);
    expect(plan(simulate(installed(before), plan(installed(before), after)), after)).toEqual([]);
  });

  it('hands over only its own component; the others switch as usual', () => {
    const before = target([component('web', { update: 'hand-over' }), component('db')]);
    const after = target([component('web', { update: 'hand-over', image: IMG_B }), component('db', { image: IMG_B })]);
    expect(actions(plan(installed(before), after))).toEqual([
      'pull B',
      'stop db',
      'remove db',
      'create-and-start db',
      'create-and-start web',
      'stop web',
      'remove web',
    ]);
  });
});

describe('dependencyOrder', () => {
  it('still orders every component when the specs are cyclic', () => {
    const t = target([
      component('a', { dependsOn: { b: 'service_started' } }),
      component('b', { dependsOn: { a: 'service_started' } }),
      component('c'),
    ]);
    expect(dependencyOrder(t.components).map((c) => c.spec.name)).toEqual(['c', 'a', 'b']);
  });
});
