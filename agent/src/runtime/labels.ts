/**
 * What marks a container, network or volume as the agent's. The agent lists, changes and
 * removes only objects carrying `io.flotilla.managed=true`, so containers a technician
 * started by hand on the same engine are never touched.
 */
export const LABEL = {
  managed: 'io.flotilla.managed',
  assembly: 'io.flotilla.assembly',
  component: 'io.flotilla.component',
  release: 'io.flotilla.release',
  specHash: 'io.flotilla.spec-hash',
} as const;

/** Every label the agent reads starts so; a release's labels never do (`container-config.ts`). */
export const LABEL_NAMESPACE = 'io.flotilla.';

const PREFIX = 'flotilla';

/**
 * One container per component and spec: the name carries a short hash of the spec, so a
 * hand-over can start the new container beside the old one, and a container left over
 * from another slot is never mistaken for the one wanted.
 */
export function containerName(component: string, specHash: string): string {
  return `${PREFIX}_${component}_${specHash.replace(/^sha256:/, '').slice(0, 12)}`;
}

/** Networks and volumes carry the assembly name so two assemblies never share data by accident. */
export function resourceName(assembly: string, name: string): string {
  return `${PREFIX}_${assembly}_${name}`;
}

export function resourceLabels(assembly: string): Record<string, string> {
  return { [LABEL.managed]: 'true', [LABEL.assembly]: assembly };
}
