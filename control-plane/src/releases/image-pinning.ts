import { DOCKER_HUB, imageRegistry, type AssemblySpec } from '@flotilla/shared';
import type { DomainIssue } from '../domain-error';

/** An image reference given by tag, split the way the Docker Registry HTTP API v2 wants it. */
export interface TagReference {
  image: string;
  /** The registry as logins are keyed (`docker.io` for Docker Hub). */
  registry: string;
  /** Where its API answers (Docker Hub's is not docker.io). */
  apiHost: string;
  repository: string;
  tag: string;
  /** The reference without its tag: what the digest is appended to. */
  name: string;
}

/**
 * The parts of `image` when it names a tag (or nothing, which means `latest`), undefined when
 * it is pinned by digest already (`…@sha256:…`, with or without a tag before it).
 */
export function tagReference(image: string): TagReference | undefined {
  if (image.includes('@')) return undefined;
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  const name = colon < 0 ? image : image.slice(0, colon);
  const tag = colon < 0 ? 'latest' : image.slice(colon + 1);
  const registry = imageRegistry(image);
  if (registry === DOCKER_HUB) {
    // Docker's rule: "busybox" is "docker.io/library/busybox"; the first component is not a host.
    const path = name.replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '');
    return { image, registry, apiHost: 'registry-1.docker.io', repository: path.includes('/') ? path : `library/${path}`, tag, name };
  }
  return { image, registry, apiHost: name.slice(0, name.indexOf('/')), repository: name.slice(name.indexOf('/') + 1), tag, name };
}

/** The digest a registry serves for a tag (`sha256:…`); throws with the reason otherwise. */
export type ResolveTag = (ref: TagReference) => Promise<string>;

export type PinOutcome = { ok: true; spec: AssemblySpec } | { ok: false; issues: DomainIssue[] };

/**
 * Every component image given by tag replaced by `name@digest`, the digest its registry serves
 * now: a release means the same bytes on every device for its whole life, whatever the tag
 * later points to, and the signature covers the digests. All tags are resolved in parallel;
 * each one that cannot be is an issue at its field.
 */
export async function pinImages(spec: AssemblySpec, resolve: ResolveTag): Promise<PinOutcome> {
  const issues: DomainIssue[] = [];
  const components = await Promise.all(
    spec.components.map(async (c) => {
      const ref = tagReference(c.image);
      if (!ref) return c;
      try {
        return { ...c, image: `${ref.name}@${await resolve(ref)}` };
      } catch (e) {
        issues.push({
          path: `services.${c.name}.image`,
          message:
            `component "${c.name}": cannot resolve image "${c.image}" to a digest (${(e as Error).message}); push it, ` +
            `set the registry's login (PUT /api/v1/registries/${ref.registry}/credentials), or give it by digest (image@sha256:…)`,
        });
        return c;
      }
    }),
  );
  issues.sort((a, b) => a.path.localeCompare(b.path));
  return issues.length > 0 ? { ok: false, issues } : { ok: true, spec: { ...spec, components } };
}
