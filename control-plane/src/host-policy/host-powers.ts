import { posix } from 'node:path';
import type { AssemblySpec, HostPolicy } from '@flotilla/shared';

/** One host-level power a release asks for that a policy does not allow, at its manifest field. */
export interface HostPowerViolation {
  path: string;
  power: 'bind mount' | 'device' | 'capability';
  value: string;
  /** The policy entry that would allow it, for the error's hint. */
  allowWith: { bindMounts: string[] } | { devices: string[] } | { capabilities: string[] };
}

/**
 * Every host-level power of `assembly` that `policy` does not allow. Pure. The paths name
 * the manifest field (`services.web.volumes.0`): a component's mounts, devices and cap_add
 * keep the order of the service's `volumes`, `devices` and `cap_add`.
 */
export function hostPowerViolations(assembly: AssemblySpec, policy: HostPolicy): HostPowerViolation[] {
  const out: HostPowerViolation[] = [];
  for (const c of assembly.components) {
    c.mounts.forEach((m, i) => {
      if (m.type !== 'bind' || underAny(m.source, policy.bindMounts)) return;
      out.push({ path: `services.${c.name}.volumes.${i}`, power: 'bind mount', value: m.source, allowWith: { bindMounts: [m.source] } });
    });
    c.devices.forEach((d, i) => {
      const host = d.split(':')[0]!;
      if (underAny(host, policy.devices)) return;
      out.push({ path: `services.${c.name}.devices.${i}`, power: 'device', value: host, allowWith: { devices: [host] } });
    });
    c.capAdd.forEach((cap, i) => {
      const name = cap.toUpperCase().replace(/^CAP_/, '');
      if (policy.capabilities.includes('ALL') || policy.capabilities.includes(name)) return;
      out.push({ path: `services.${c.name}.cap_add.${i}`, power: 'capability', value: name, allowWith: { capabilities: [name] } });
    });
  }
  return out;
}

/** `path` is one of `allowed` or below one, compared after normalizing (so "/a/../etc" is "/etc"). */
function underAny(path: string, allowed: readonly string[]): boolean {
  const p = posix.normalize(path);
  return allowed.some((a) => {
    const base = posix.normalize(a);
    return base === '/' || p === base || p.startsWith(base.endsWith('/') ? base : `${base}/`);
  });
}
