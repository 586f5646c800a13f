import type { z } from 'zod';
import { parseByteSize, parseDuration } from './duration';
import { loadYaml, type ManifestIssue } from './load-yaml';
import { AssemblyManifest, PORT_PATTERN, VOLUME_PATTERN, type ServiceManifest } from './manifest';
import { hostFieldIssues } from './host-fields';
import { resolveComponentRefs, type ComponentLookup } from './resolve-components';
import { DEFAULT_NETWORK, DEFAULT_PROBATION_MS, type AssemblySpec, type ComponentSpec, type MountSpec, type PortSpec } from './spec';

export type ParseAssemblyResult = { ok: true; manifest: AssemblyManifest; spec: AssemblySpec } | { ok: false; issues: ManifestIssue[] };

export interface ParseAssemblyOptions {
  /** Resolves `x-flotilla.component` references; without it a reference is an error. */
  components?: ComponentLookup;
}

export function parseAssemblyYaml(text: string, options: ParseAssemblyOptions = {}): ParseAssemblyResult {
  const loaded = loadYaml(text);
  return loaded.ok ? parseAssembly(loaded.value, options) : loaded;
}

export function parseAssembly(input: unknown, options: ParseAssemblyOptions = {}): ParseAssemblyResult {
  const interpolationIssues: ManifestIssue[] = [];
  const unescaped = unescapeDollars(withoutExtensionKeys(input), [], interpolationIssues);
  if (interpolationIssues.length > 0) return { ok: false, issues: interpolationIssues };
  const resolved = resolveComponentRefs(unescaped, options.components);
  if (!resolved.ok) return resolved;
  const parsed = AssemblyManifest.safeParse(resolved.value);
  if (!parsed.success) return { ok: false, issues: zodIssues(parsed.error) };
  const issues = crossReferenceIssues(parsed.data);
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, manifest: parsed.data, spec: normalize(parsed.data) };
}

export function zodIssues(error: z.ZodError): ManifestIssue[] {
  return error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

/** Compose lets any map carry `x-*` keys for tooling; keep only ours so strict parsing stays strict. */
function withoutExtensionKeys(input: unknown): unknown {
  if (!isRecord(input)) return input;
  const top = dropExtensions(input);
  if (isRecord(top.services)) {
    top.services = Object.fromEntries(Object.entries(top.services).map(([k, v]) => [k, isRecord(v) ? dropExtensions(v) : v]));
  }
  return top;
}

function dropExtensions(map: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(map).filter(([k]) => !k.startsWith('x-') || k === 'x-flotilla'));
}

/**
 * Compose interpolates `${VAR}` from the shell that runs it; a release has no such shell and
 * must mean the same on every device, so variables are refused and `$$` (Compose's escape
 * for a literal `$`) becomes `$`.
 */
function unescapeDollars(value: unknown, path: (string | number)[], issues: ManifestIssue[]): unknown {
  if (typeof value === 'string') {
    if (/\$(\{|[A-Za-z_])/.test(value.replaceAll('$$', ''))) {
      issues.push({
        path: path.join('.'),
        message: 'variable interpolation ($VAR, ${VAR}) is not supported in a release; write the value, or "$$" for a literal "$"',
      });
    }
    return value.replaceAll('$$', '$');
  }
  if (Array.isArray(value)) return value.map((v, i) => unescapeDollars(v, [...path, i], issues));
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unescapeDollars(v, [...path, k], issues)]));
  return value;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function crossReferenceIssues(m: AssemblyManifest): ManifestIssue[] {
  const issues: ManifestIssue[] = [];
  const services = Object.keys(m.services);
  const volumes = new Set(Object.keys(m.volumes ?? {}));
  const networks = new Set([DEFAULT_NETWORK, ...Object.keys(m.networks ?? {})]);
  for (const [svc, s] of Object.entries(m.services)) {
    for (const dep of Object.keys(dependsOnMap(s))) {
      if (!services.includes(dep)) issues.push({ path: `services.${svc}.depends_on.${dep}`, message: `unknown service "${dep}"` });
      if (dep === svc) issues.push({ path: `services.${svc}.depends_on.${dep}`, message: 'a service cannot depend on itself' });
    }
    (s.volumes ?? []).forEach((v, i) => {
      const source = VOLUME_PATTERN.exec(v)![1]!;
      if (!source.startsWith('/') && !source.startsWith('.') && !volumes.has(source)) {
        issues.push({ path: `services.${svc}.volumes.${i}`, message: `volume "${source}" is not declared under top-level "volumes"` });
      }
      if (source.startsWith('.'))
        issues.push({
          path: `services.${svc}.volumes.${i}`,
          message: 'relative bind mounts have no meaning on a device; use an absolute path',
        });
    });
    issues.push(...hostFieldIssues(svc, s));
    (s.networks ?? []).forEach((n, i) => {
      if (!networks.has(n))
        issues.push({ path: `services.${svc}.networks.${i}`, message: `network "${n}" is not declared under top-level "networks"` });
    });
  }
  const cycle = findCycle(m);
  if (cycle) issues.push({ path: `services.${cycle[0]}.depends_on`, message: `dependency cycle: ${cycle.join(' -> ')}` });
  return issues;
}

function findCycle(m: AssemblyManifest): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (svc: string, trail: string[]): string[] | undefined => {
    if (state.get(svc) === 'done') return undefined;
    if (state.get(svc) === 'visiting') return [...trail.slice(trail.indexOf(svc)), svc];
    state.set(svc, 'visiting');
    const service = m.services[svc];
    for (const dep of Object.keys(service ? dependsOnMap(service) : {})) {
      const found = visit(dep, [...trail, svc]);
      if (found) return found;
    }
    state.set(svc, 'done');
    return undefined;
  };
  for (const svc of Object.keys(m.services)) {
    const found = visit(svc, []);
    if (found) return found;
  }
  return undefined;
}

function dependsOnMap(s: ServiceManifest): Record<string, 'service_started' | 'service_healthy'> {
  if (!s.depends_on) return {};
  if (Array.isArray(s.depends_on)) return Object.fromEntries(s.depends_on.map((d) => [d, 'service_started' as const]));
  return Object.fromEntries(Object.entries(s.depends_on).map(([d, v]) => [d, v.condition]));
}

function normalize(m: AssemblyManifest): AssemblySpec {
  const flotilla = m['x-flotilla'];
  const defaultStrategy = flotilla.update?.strategy ?? 'download-then-switch';
  const components = Object.entries(m.services)
    .map(([svcName, s]) => normalizeService(svcName, s, defaultStrategy))
    .sort((a, b) => a.name.localeCompare(b.name));
  return {
    name: m.name,
    version: flotilla.version,
    ...(flotilla.boards ? { boards: flotilla.boards } : {}),
    probationMs: flotilla.update?.probation ? parseDuration(flotilla.update.probation)! : DEFAULT_PROBATION_MS,
    // Absent unless false, so releases that keep the default keep their digest.
    ...(flotilla.update?.requireControlPlane === false ? { requireControlPlane: false as const } : {}),
    components,
    volumes: Object.keys(m.volumes ?? {}).sort(),
    // An OS-only release has no component to join the default network: it needs no engine at all.
    networks: [...new Set([...(components.length > 0 ? [DEFAULT_NETWORK] : []), ...Object.keys(m.networks ?? {})])].sort(),
    ...(flotilla.os ? { os: [...flotilla.os].sort((a, b) => a.board.localeCompare(b.board)) } : {}),
    ...(flotilla.agent ? { agent: flotilla.agent } : {}),
  };
}

function normalizeService(svcName: string, s: ServiceManifest, defaultStrategy: ComponentSpec['update']): ComponentSpec {
  const c: ComponentSpec = {
    name: svcName,
    // Present: the schema wants an image or a component, and resolution replaced the component.
    image: s.image!,
    environment: normalizeEnvironment(s.environment),
    ports: (s.ports ?? []).map(normalizePort),
    mounts: (s.volumes ?? []).map(normalizeMount),
    restart: s.restart ?? 'unless-stopped',
    dependsOn: dependsOnMap(s),
    labels: Array.isArray(s.labels) ? Object.fromEntries(s.labels.map(splitKeyValue)) : (s.labels ?? {}),
    devices: s.devices ?? [],
    capAdd: s.cap_add ?? [],
    networks: s.networks && s.networks.length > 0 ? [...s.networks].sort() : [DEFAULT_NETWORK],
    update: s['x-flotilla']?.update ?? defaultStrategy,
  };
  if (s['x-flotilla']?.updateLock) c.updateLock = true;
  if (s.command !== undefined) c.command = shellWords(s.command);
  if (s.entrypoint !== undefined) c.entrypoint = shellWords(s.entrypoint);
  if (s.healthcheck && !s.healthcheck.disable) {
    const h = s.healthcheck;
    c.healthcheck = {
      // Compose's string form means CMD-SHELL; the list form already starts with CMD / CMD-SHELL / NONE.
      test: typeof h.test === 'string' ? ['CMD-SHELL', h.test] : h.test,
      ...(h.interval ? { intervalMs: parseDuration(h.interval)! } : {}),
      ...(h.timeout ? { timeoutMs: parseDuration(h.timeout)! } : {}),
      ...(h.retries ? { retries: h.retries } : {}),
      ...(h.start_period ? { startPeriodMs: parseDuration(h.start_period)! } : {}),
    };
  }
  if (s.mem_limit !== undefined) c.memLimitBytes = parseByteSize(s.mem_limit)!;
  if (s.cpus !== undefined) c.cpus = Number(s.cpus);
  return c;
}

function normalizeEnvironment(env: ServiceManifest['environment']): Record<string, string> {
  if (!env) return {};
  const entries = Array.isArray(env)
    ? env.map(splitKeyValue)
    : Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)] as const);
  return Object.fromEntries([...entries].sort(([a], [b]) => a.localeCompare(b)));
}

function splitKeyValue(entry: string): [string, string] {
  const at = entry.indexOf('=');
  return at < 0 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)];
}

function normalizePort(p: string | number): PortSpec {
  if (typeof p === 'number') return { container: p, protocol: 'tcp' };
  const [, hostIp, host, container, protocol] = PORT_PATTERN.exec(p)!;
  return {
    container: Number(container),
    ...(host ? { host: Number(host) } : {}),
    ...(hostIp ? { hostIp } : {}),
    protocol: protocol === 'udp' ? 'udp' : 'tcp',
  };
}

function normalizeMount(v: string): MountSpec {
  const [, source, target, mode] = VOLUME_PATTERN.exec(v)!;
  return { type: source!.startsWith('/') ? 'bind' : 'volume', source: source!, target: target!, readOnly: mode === 'ro' };
}

/** Compose's string form of `command` is split like a shell would, without expansion. */
export function shellWords(cmd: string | string[]): string[] {
  if (Array.isArray(cmd)) return cmd;
  const words: string[] = [];
  let current = '';
  let quote: '"' | "'" | null = null;
  let inWord = false;
  for (let i = 0; i < cmd.length; i++) {
    const ch = cmd[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < cmd.length) current += cmd[++i];
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < cmd.length) {
      current += cmd[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}
