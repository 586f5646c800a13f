import { minimalComponent } from '@flotilla/shared';
import type { AssemblySpec, ComponentSpec } from '@flotilla/shared';
import { diffAssemblies } from './release-diff';

const component = (name: string, overrides: Partial<ComponentSpec> = {}): ComponentSpec =>
  minimalComponent(name, `reg/${name}@sha256:${'a'.repeat(64)}`, overrides);

const assembly = (components: ComponentSpec[], overrides: Partial<AssemblySpec> = {}): AssemblySpec => ({
  name: 'origin',
  version: '1.0.0',
  probationMs: 30_000,
  components,
  volumes: [],
  networks: ['default'],
  ...overrides,
});

describe('diffAssemblies', () => {
  it('lists added, removed, changed (with fields) and unchanged components, and the images to fetch', () => {
    const newImage = `reg/web@sha256:${'b'.repeat(64)}`;
    const from = assembly([component('web'), component('db'), component('old')]);
    const to = assembly([component('web', { image: newImage, environment: { A: '1' } }), component('db'), component('cache')], {
      version: '1.1.0',
      probationMs: 60_000,
    });
    expect(diffAssemblies(from, to)).toEqual({
      components: { added: ['cache'], removed: ['old'], changed: [{ name: 'web', fields: ['environment', 'image'] }], unchanged: ['db'] },
      imagesToFetch: [component('cache').image, newImage].sort(),
      assemblyFields: ['probationMs'],
    });
  });

  it('finds nothing between a release and itself; an image another component already had is not fetched', () => {
    const a = assembly([component('web'), component('db')]);
    expect(diffAssemblies(a, a)).toEqual({
      components: { added: [], removed: [], changed: [], unchanged: ['db', 'web'] },
      imagesToFetch: [],
      assemblyFields: [],
    });
    const reused = assembly([component('web'), component('db'), component('web2', { image: component('web').image })]);
    expect(diffAssemblies(a, reused).imagesToFetch).toEqual([]);
  });

  it('treats an optional field that appears as a change', () => {
    const to = assembly([component('web', { healthcheck: { test: ['CMD', 'true'] } })]);
    expect(diffAssemblies(assembly([component('web')]), to).components.changed).toEqual([{ name: 'web', fields: ['healthcheck'] }]);
  });
});
