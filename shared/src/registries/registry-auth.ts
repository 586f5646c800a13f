import { z } from 'zod';

/**
 * Access to private registries, as a device gets it in its `desired` envelope (never in the
 * signed release) for the registries its release pulls from: a stored login that an admin
 * granted to the device's fleet, or, for registries whose tokens the control plane issues
 * (the project's own), a short-lived pull-only token scoped to the release's repositories.
 * The agent uses either to pull and to read manifests.
 */

/** Docker Hub, however a reference or a login spells it. */
export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/** `host`, `host:port`, or an IPv4 address with a port, lower case: how image references name a registry. */
export const REGISTRY_HOST_PATTERN =
  /^(?=.{1,253}(:|$))[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::\d{1,5})?$/;

export const RegistryHost = z
  .string()
  .transform((s) => normalizeRegistry(s))
  .pipe(
    z.string().regex(REGISTRY_HOST_PATTERN, 'a registry host as image references spell it, e.g. registry.example.com or 127.0.0.1:5001'),
  );

export const RegistryLogin = z.object({
  registry: z.string(),
  username: z.string(),
  password: z.string(),
});
export type RegistryLogin = z.infer<typeof RegistryLogin>;

/**
 * A registry token (Docker distribution's token authentication): a JWT the registry verifies
 * against the control plane's issuer certificate. The agent sends it as `Bearer` and to the
 * engine as `registrytoken`; past `expiresAt` it asks for the desired state again
 * (`DesiredGet.refresh`) instead of pulling with it.
 */
export const RegistryToken = z.object({
  registry: z.string(),
  token: z.string().max(16_384),
  expiresAt: z.string().datetime({ offset: true }),
});
export type RegistryToken = z.infer<typeof RegistryToken>;

export const RegistryAuth = z.union([RegistryLogin, RegistryToken]);
export type RegistryAuth = z.infer<typeof RegistryAuth>;

export function isRegistryToken(auth: RegistryAuth): auth is RegistryToken {
  return 'token' in auth;
}

/** True when a token will have expired `marginMs` from `now` (a login never expires). */
export function registryAuthExpired(auth: RegistryAuth, now: Date, marginMs = 0): boolean {
  return isRegistryToken(auth) && Date.parse(auth.expiresAt) - marginMs <= now.getTime();
}

/** The same registry always under one key: lower case, Docker Hub's aliases as `docker.io`. */
export function normalizeRegistry(host: string): string {
  const lower = host.trim().toLowerCase();
  return DOCKER_HUB_ALIASES.has(lower) ? DOCKER_HUB : lower;
}

/**
 * The registry an image reference pulls from, by Docker's rule: the first path component is
 * a host when it has a dot or a port or is `localhost`; anything else is on Docker Hub.
 */
export function imageRegistry(ref: string): string {
  const slash = ref.indexOf('/');
  const first = slash < 0 ? '' : ref.slice(0, slash);
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost')) return normalizeRegistry(first);
  return DOCKER_HUB;
}

/**
 * The repository an image reference names within its registry, as the registry's token scopes
 * spell it: no host, no tag, no digest (`127.0.0.1:5001/team/web:1@sha256:…` → `team/web`).
 * Docker Hub's one-word names live under `library/`.
 */
export function imageRepository(ref: string): string {
  const slash = ref.indexOf('/');
  const first = slash < 0 ? '' : ref.slice(0, slash);
  const hasHost = first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost');
  const path = (hasHost ? ref.slice(slash + 1) : ref).replace(/@.*$/, '').replace(/:[^/]*$/, '');
  return !hasHost && !path.includes('/') ? `library/${path}` : path;
}

/** The credentials to pull `ref` with, if `auths` has its registry's. */
export function registryAuthFor(ref: string, auths: readonly RegistryAuth[] | undefined): RegistryAuth | undefined {
  if (!auths?.length) return undefined;
  const registry = imageRegistry(ref);
  return auths.find((a) => normalizeRegistry(a.registry) === registry);
}
