import { configValueIssue, type ComponentManifest } from './component';
import { COMPONENT_REF_PATTERN, VOLUME_PATTERN } from './manifest';

/**
 * Library references in an assembly: a service may name `x-flotilla: { component: name@version }`
 * instead of (or besides) an `image`. Resolution happens on the control plane at publish, so
 * a release holds the fully resolved assembly and a device never sees a reference.
 *
 * Merge rules, component defaults ⊕ the service's own keys:
 * - maps are merged key by key, the service winning: `environment`, `labels`;
 * - everything else the service sets replaces the component's value whole: lists (`ports`,
 *   `volumes`, `devices`, `cap_add`, `command`, `entrypoint`), `healthcheck`, scalars, `image`;
 * - the component's accepted configuration keys are environment variables: a default fills
 *   the environment when neither side sets the key, a set value is checked against its type,
 *   and a required key without a value is an error;
 * - named volumes the component mounts are declared at the top level when the assembly does not.
 * Component values are taken literally (no `$$` unescaping: they were never Compose-interpolated).
 */

export interface ComponentRef {
  /** Dotted path of the reference, for error messages: `services.web.x-flotilla.component`. */
  path: string;
  service: string;
  name: string;
  version: string;
}

export interface ResolveIssue {
  path: string;
  message: string;
}

/** Finds component by name and version; undefined when the library has no such version. */
export type ComponentLookup = (name: string, version: string) => ComponentManifest | undefined;

export function componentRefs(input: unknown): ComponentRef[] {
  const refs: ComponentRef[] = [];
  const services = isRecord(input) && isRecord(input.services) ? input.services : {};
  for (const [service, s] of Object.entries(services)) {
    const flotilla = isRecord(s) ? s['x-flotilla'] : undefined;
    const ref = isRecord(flotilla) && typeof flotilla.component === 'string' ? COMPONENT_REF_PATTERN.exec(flotilla.component) : null;
    if (ref) refs.push({ path: `services.${service}.x-flotilla.component`, service, name: ref[1]!, version: ref[2]! });
  }
  return refs;
}

export type ResolveResult = { ok: true; value: unknown } | { ok: false; issues: ResolveIssue[] };

/** Replaces every reference by the merged service. Without a lookup, a reference is an error. */
export function resolveComponentRefs(input: unknown, lookup: ComponentLookup | undefined): ResolveResult {
  const refs = componentRefs(input);
  if (refs.length === 0) return { ok: true, value: input };
  const issues: ResolveIssue[] = [];
  const top = { ...(input as Record<string, unknown>) };
  const services = { ...(top.services as Record<string, unknown>) };
  const volumes = isRecord(top.volumes) ? { ...top.volumes } : {};
  for (const ref of refs) {
    const component = lookup?.(ref.name, ref.version);
    if (!component) {
      issues.push({
        path: ref.path,
        message: lookup
          ? `unknown library component ${ref.name}@${ref.version}; publish it with POST /api/v1/components first`
          : 'library components are resolved by the control plane when the release is published',
      });
      continue;
    }
    const merged = mergeComponent(component, services[ref.service] as Record<string, unknown>);
    issues.push(...configIssues(component, merged, ref.service));
    services[ref.service] = merged;
    if (merged.volumes === component.volumes) {
      for (const name of namedVolumes(component.volumes ?? [])) if (!(name in volumes)) volumes[name] = null;
    }
  }
  if (issues.length > 0) return { ok: false, issues };
  top.services = services;
  if (Object.keys(volumes).length > 0) top.volumes = volumes;
  return { ok: true, value: top };
}

const COMPONENT_ONLY_KEYS = new Set(['name', 'version', 'description', 'config', 'x-flotilla']);
const MERGED_MAPS = new Set(['environment', 'labels']);

/** The service as if it had been written out in full: component defaults, then the service's own keys. */
export function mergeComponent(component: ComponentManifest, service: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(component)) {
    if (!COMPONENT_ONLY_KEYS.has(key) && value !== undefined) merged[key] = value;
  }
  for (const [key, value] of Object.entries(service)) {
    if (key === 'x-flotilla') continue;
    merged[key] = MERGED_MAPS.has(key) && key in merged ? mergeMaps(merged[key], value) : value;
  }
  const { component: _ref, ...ownFlotilla } = isRecord(service['x-flotilla']) ? service['x-flotilla'] : {};
  const flotilla = { ...(component['x-flotilla'] ?? {}), ...ownFlotilla };
  if (Object.keys(flotilla).length > 0) merged['x-flotilla'] = flotilla;
  return merged;
}

function configIssues(component: ComponentManifest, merged: Record<string, unknown>, service: string): ResolveIssue[] {
  const issues: ResolveIssue[] = [];
  if (merged.environment !== undefined && asMap(merged.environment) === undefined) return issues; // the schema reports its shape
  const env = asMap(merged.environment) ?? {};
  for (const [key, spec] of Object.entries(component.config)) {
    const path = `services.${service}.environment.${key}`;
    const value = env[key];
    if (value === undefined) {
      if (spec.default !== undefined) env[key] = String(spec.default);
      else if (spec.required) issues.push({ path, message: `required by component ${component.name}@${component.version}` });
      continue;
    }
    const issue = configValueIssue(spec.type, value === null ? '' : String(value));
    if (issue) issues.push({ path, message: `${issue} (component ${component.name}@${component.version} takes a ${spec.type})` });
  }
  if (Object.keys(env).length > 0) merged.environment = env;
  return issues;
}

/** Compose writes these maps either as `{K: V}` or as `["K=V"]`; a shape the schema will refuse is passed through. */
function mergeMaps(base: unknown, own: unknown): unknown {
  const a = asMap(base);
  const b = asMap(own);
  return a && b ? { ...a, ...b } : own;
}

function asMap(value: unknown): Record<string, unknown> | undefined {
  if (isRecord(value)) return { ...value };
  if (Array.isArray(value) && value.every((e) => typeof e === 'string')) {
    return Object.fromEntries(
      value.map((e: string) => {
        const at = e.indexOf('=');
        return at < 0 ? [e, ''] : [e.slice(0, at), e.slice(at + 1)];
      }),
    );
  }
  return undefined;
}

function namedVolumes(mounts: readonly string[]): string[] {
  return mounts.map((m) => VOLUME_PATTERN.exec(m)?.[1]).filter((s): s is string => !!s && !s.startsWith('/') && !s.startsWith('.'));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
