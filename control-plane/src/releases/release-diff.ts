import { canonicalJson, type AssemblySpec, type ComponentSpec, type ReleaseDiff } from '@flotilla/shared';

type DiffBody = Omit<ReleaseDiff, 'from' | 'to'>;

const ASSEMBLY_FIELDS = ['boards', 'probationMs', 'volumes', 'networks', 'requireControlPlane', 'os'] as const;

/**
 * What moving a device from release `from` to release `to` changes: components added,
 * removed or changed (with the spec fields that differ), and the images `to` runs that
 * `from` does not, which a device must fetch. Components are matched by name.
 */
export function diffAssemblies(from: AssemblySpec, to: AssemblySpec): DiffBody {
  const before = new Map(from.components.map((c) => [c.name, c]));
  const after = new Map(to.components.map((c) => [c.name, c]));
  const added = [...after.keys()].filter((n) => !before.has(n)).sort();
  const removed = [...before.keys()].filter((n) => !after.has(n)).sort();
  const changed: DiffBody['components']['changed'] = [];
  const unchanged: string[] = [];
  for (const [name, next] of [...after.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const previous = before.get(name);
    if (!previous) continue;
    const fields = changedFields(previous, next);
    if (fields.length > 0) changed.push({ name, fields });
    else unchanged.push(name);
  }
  const held = new Set(from.components.map((c) => c.image));
  const imagesToFetch = [...new Set(to.components.map((c) => c.image))].filter((i) => !held.has(i)).sort();
  const assemblyFields = ASSEMBLY_FIELDS.filter(
    (f) => canonicalJson(from[f as keyof AssemblySpec]) !== canonicalJson(to[f as keyof AssemblySpec]),
  );
  return { components: { added, removed, changed, unchanged }, imagesToFetch, assemblyFields };
}

function changedFields(a: ComponentSpec, b: ComponentSpec): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => canonicalJson(a[k as keyof ComponentSpec]) !== canonicalJson(b[k as keyof ComponentSpec])).sort();
}
