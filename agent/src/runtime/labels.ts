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

const PREFIX = 'flotilla';

/** One container per component on a device, whatever the assembly, as Compose names one per service. */
export function containerName(component: string): string {
  return `${PREFIX}_${component}`;
}

/** Networks and volumes carry the assembly name so two assemblies never share data by accident. */
export function resourceName(assembly: string, name: string): string {
  return `${PREFIX}_${assembly}_${name}`;
}

export function resourceLabels(assembly: string): Record<string, string> {
  return { [LABEL.managed]: 'true', [LABEL.assembly]: assembly };
}
