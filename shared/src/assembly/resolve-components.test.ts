import { ComponentManifest } from './component';
import { parseAssemblyYaml } from './parse';
import { componentRefs, mergeComponent, resolveComponentRefs } from './resolve-components';

const component = ComponentManifest.parse({
  name: 'broker',
  version: '1.0.0',
  image: `reg/broker@sha256:${'a'.repeat(64)}`,
  environment: ['LOG=info', 'PERSIST=true'],
  ports: ['1883:1883'],
  volumes: ['data:/data'],
  labels: { tier: 'infra' },
  'x-flotilla': { update: 'hand-over' },
  config: { MAX: { type: 'number', default: 10 }, SITE: { required: true } },
});
const lookup = (name: string, version: string) => (name === 'broker' && version === '1.0.0' ? component : undefined);

describe('mergeComponent', () => {
  it('merges maps key by key (service wins), replaces lists and scalars, keeps the service update strategy over the component', () => {
    const merged = mergeComponent(component, {
      environment: { LOG: 'debug' },
      labels: ['team=a'],
      ports: ['8883:1883'],
      restart: 'always',
      'x-flotilla': { component: 'broker@1.0.0', update: 'download-then-switch' },
    });
    expect(merged).toEqual({
      image: component.image,
      environment: { LOG: 'debug', PERSIST: 'true' },
      labels: { tier: 'infra', team: 'a' },
      ports: ['8883:1883'],
      volumes: ['data:/data'],
      restart: 'always',
      'x-flotilla': { update: 'download-then-switch' },
    });
  });

  it('lets the service override the image', () => {
    expect(mergeComponent(component, { image: 'other@sha256:1' }).image).toBe('other@sha256:1');
  });
});

describe('resolveComponentRefs', () => {
  const input = (service: Record<string, unknown>) => ({
    name: 'a',
    services: { mq: { 'x-flotilla': { component: 'broker@1.0.0' }, ...service } },
  });

  it('finds references with their paths', () => {
    expect(componentRefs(input({}))).toEqual([
      { path: 'services.mq.x-flotilla.component', service: 'mq', name: 'broker', version: '1.0.0' },
    ]);
  });

  it('fills config defaults, checks types and required keys, and declares named volumes', () => {
    const ok = resolveComponentRefs(input({ environment: { SITE: 'n' } }), lookup);
    expect(ok).toMatchObject({
      ok: true,
      value: { volumes: { data: null }, services: { mq: { environment: { LOG: 'info', PERSIST: 'true', SITE: 'n', MAX: '10' } } } },
    });
    const bad = resolveComponentRefs(input({ environment: { MAX: 'many' } }), lookup);
    expect(bad).toEqual({
      ok: false,
      issues: [
        { path: 'services.mq.environment.MAX', message: expect.stringMatching(/expected a number/) },
        { path: 'services.mq.environment.SITE', message: 'required by component broker@1.0.0' },
      ],
    });
  });

  it('reports unknown components, and references without a library', () => {
    const unknown = { name: 'a', services: { mq: { 'x-flotilla': { component: 'broker@2.0.0' } } } };
    expect(resolveComponentRefs(unknown, lookup)).toMatchObject({ ok: false, issues: [{ path: 'services.mq.x-flotilla.component' }] });
    expect(resolveComponentRefs(unknown, undefined)).toMatchObject({ ok: false, issues: [{ path: 'services.mq.x-flotilla.component' }] });
  });

  it('feeds parseAssembly: the spec holds the resolved service', () => {
    const result = parseAssemblyYaml(
      `name: a\nx-flotilla: { version: 1.0.0 }\nservices:\n  mq:\n    x-flotilla: { component: broker@1.0.0 }\n    environment: { SITE: s }\n`,
      { components: lookup },
    );
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    expect(result.spec.components[0]).toMatchObject({ name: 'mq', image: component.image, update: 'hand-over', labels: { tier: 'infra' } });
    expect(result.spec.volumes).toEqual(['data']);
    expect(parseAssemblyYaml(`name: a\nx-flotilla: { version: 1.0.0 }\nservices:\n  mq: {}\n`)).toMatchObject({
      ok: false,
      issues: [{ path: 'services.mq.image' }],
    });
  });
});
