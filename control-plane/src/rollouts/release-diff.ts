import type { AssemblySpec, ComponentChange } from '@flotilla/shared';
import { diffAssemblies } from '../releases/release-diff';

/**
 * Per component, what a device's move from `from` (null: it runs nothing yet) to `to` changes,
 * with the images on either side, and the images it must pull. Builds on the releases' diff.
 */
export function planChanges(from: AssemblySpec | null, to: AssemblySpec): { changes: ComponentChange[]; imagesToFetch: string[] } {
  const image = (spec: AssemblySpec | null, name: string) => spec?.components.find((c) => c.name === name)?.image ?? null;
  if (!from) {
    return {
      changes: to.components.map((c) => ({ component: c.name, change: 'added', fromImage: null, toImage: c.image })),
      imagesToFetch: [...new Set(to.components.map((c) => c.image))].sort(),
    };
  }
  const diff = diffAssemblies(from, to);
  const changes: ComponentChange[] = [
    ...diff.components.added.map((name): ComponentChange => ({
      component: name,
      change: 'added',
      fromImage: null,
      toImage: image(to, name),
    })),
    ...diff.components.changed.map((c): ComponentChange => ({
      component: c.name,
      change: c.fields.includes('image') ? 'image' : 'settings',
      fromImage: image(from, c.name),
      toImage: image(to, c.name),
    })),
    ...diff.components.removed.map((name): ComponentChange => ({
      component: name,
      change: 'removed',
      fromImage: image(from, name),
      toImage: null,
    })),
  ];
  return { changes, imagesToFetch: diff.imagesToFetch };
}
