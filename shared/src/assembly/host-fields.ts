import type { ManifestIssue } from './load-yaml';
import type { ServiceManifest } from './manifest';
import { VOLUME_PATTERN } from './manifest';

/** Compose device syntax as the agent maps it: `/dev/host[:/dev/container[:permissions]]`. */
export const DEVICE_PATTERN = /^(\/[^:]*)(?::(\/[^:]*)(?::([rwm]{1,3}))?)?$/;

/** Labels the agent sets on what it creates (agent/src/runtime/labels.ts); a release may not set them. */
export const RESERVED_LABEL_PREFIX = 'io.flotilla.';

/**
 * A host path the fleet's host policy can judge by its text: absolute and in normal form
 * (no ".", "..", "//" or trailing "/"), so it names exactly what the kernel will open. The
 * agent refuses it too, and also one that passes through a symbolic link (`bind-sources.ts`).
 */
export function isNormalHostPath(path: string): boolean {
  if (path === '/') return true;
  if (!path.startsWith('/')) return false;
  return path
    .slice(1)
    .split('/')
    .every((part) => part !== '' && part !== '.' && part !== '..');
}

/** The normal form of an absolute path, as Node's `path.posix.normalize` gives it but without a trailing "/". */
function normalForm(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

/**
 * Issues of one service's fields that give it host access or reach the agent's own labels,
 * beyond what their schema checks: called once the manifest's shape is valid.
 */
export function hostFieldIssues(svc: string, s: ServiceManifest): ManifestIssue[] {
  const issues: ManifestIssue[] = [];
  (s.volumes ?? []).forEach((v, i) => {
    const source = VOLUME_PATTERN.exec(v)![1]!;
    if (source.startsWith('/') && !isNormalHostPath(source)) {
      issues.push({ path: `services.${svc}.volumes.${i}`, message: notNormal('a bind mount', source) });
    }
  });
  (s.devices ?? []).forEach((d, i) => {
    const m = DEVICE_PATTERN.exec(d);
    if (!m) {
      issues.push({
        path: `services.${svc}.devices.${i}`,
        message: 'expected "/dev/HOST", "/dev/HOST:/dev/CONTAINER" or "/dev/HOST:/dev/CONTAINER:rwm" (permissions from r, w, m)',
      });
    } else if (!isNormalHostPath(m[1]!)) {
      issues.push({ path: `services.${svc}.devices.${i}`, message: notNormal('a device', m[1]!) });
    }
  });
  for (const key of labelKeys(s.labels)) {
    if (key.toLowerCase().startsWith(RESERVED_LABEL_PREFIX)) {
      issues.push({
        path: `services.${svc}.labels.${key}`,
        message: `labels under "${RESERVED_LABEL_PREFIX}" are the agent's own (how it tells its containers apart); use another prefix`,
      });
    }
  }
  if (s.environment && !Array.isArray(s.environment)) {
    for (const key of Object.keys(s.environment)) {
      if (key.includes('=')) {
        issues.push({ path: `services.${svc}.environment.${key}`, message: 'an environment variable name cannot contain "="' });
      }
    }
  }
  return issues;
}

function labelKeys(labels: ServiceManifest['labels']): string[] {
  if (!labels) return [];
  return Array.isArray(labels) ? labels.map((l) => (l.includes('=') ? l.slice(0, l.indexOf('=')) : l)) : Object.keys(labels);
}

function notNormal(what: string, path: string): string {
  const normal = normalForm(path);
  return `${what}'s host path must be absolute and in normal form, as the fleet's host policy judges it (no ".", "..", "//" or trailing "/"): write "${normal}"`;
}
