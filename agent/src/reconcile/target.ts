import { contentDigest, type ComponentSpec, type Release } from '@flotilla/shared/device';
import { containerName, resourceName } from '../runtime/labels';
import type { TargetComponent, TargetState } from './state';

/**
 * The target a desired state asks for, or null when the device should run nothing.
 * Device configuration reaches every component as environment variables and wins over
 * the component's defaults, as device variables do on balena: the same release can then
 * be tuned per device without a new release.
 */
export function targetFromDesired(desired: {
  release: Pick<Release, 'id' | 'assembly'> | null;
  config: Record<string, string>;
}): TargetState | null {
  const release = desired.release;
  if (!release) return null;
  const assembly = release.assembly;
  return {
    assembly: assembly.name,
    releaseId: release.id,
    components: assembly.components.map((c) => targetComponent(assembly.name, c, desired.config)),
    networks: assembly.networks.map((n) => resourceName(assembly.name, n)),
    volumes: assembly.volumes.map((v) => resourceName(assembly.name, v)),
  };
}

function targetComponent(assembly: string, spec: ComponentSpec, config: Record<string, string>): TargetComponent {
  // The assembly name is part of the hash because it decides which volumes and networks are mounted.
  const specHash = contentDigest({ assembly, component: spec, config });
  return {
    containerName: containerName(spec.name, specHash),
    spec: { ...spec, environment: { ...spec.environment, ...config } },
    specHash,
  };
}
