import { minimalComponent } from '@flotilla/shared';
import type { AssemblySpec, ComponentSpec } from '@flotilla/shared';
import { planChanges } from './release-diff';

const component = (name: string, image: string, over: Partial<ComponentSpec> = {}): ComponentSpec =>
  minimalComponent(name, image, { networks: [], ...over });

function assembly(components: ComponentSpec[]): AssemblySpec {
  return { name: 'origin', version: '1', probationMs: 1000, components, volumes: [], networks: [] } as unknown as AssemblySpec;
}

describe('planChanges', () => {
  it('lists every component as added for a device that runs nothing', () => {
    expect(planChanges(null, assembly([component('web', 'img:a'), component('db', 'img:a')]))).toEqual({
      changes: [
        { component: 'web', change: 'added', fromImage: null, toImage: 'img:a' },
        { component: 'db', change: 'added', fromImage: null, toImage: 'img:a' },
      ],
      imagesToFetch: ['img:a'],
    });
  });

  it('tells image changes from settings changes, and lists removals and the images to pull', () => {
    const from = assembly([component('web', 'img:1'), component('cache', 'img:c'), component('old', 'img:o')]);
    const to = assembly([
      component('web', 'img:2'),
      component('cache', 'img:c', { environment: { SIZE: '2' } }),
      component('new', 'img:n'),
    ]);
    const plan = planChanges(from, to);
    expect(plan.changes).toEqual(
      expect.arrayContaining([
        { component: 'new', change: 'added', fromImage: null, toImage: 'img:n' },
        { component: 'web', change: 'image', fromImage: 'img:1', toImage: 'img:2' },
        { component: 'cache', change: 'settings', fromImage: 'img:c', toImage: 'img:c' },
        { component: 'old', change: 'removed', fromImage: 'img:o', toImage: null },
      ]),
    );
    expect(plan.changes).toHaveLength(4);
    expect(plan.imagesToFetch).toEqual(['img:2', 'img:n']);
  });
});
