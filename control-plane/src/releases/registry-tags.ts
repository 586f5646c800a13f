import { answerChallenge, parseChallenge, type HttpGet, type RegistryAuth } from '@flotilla/shared';
import type { ResolveTag, TagReference } from './image-pinning';

/** Lists first: a multi-arch tag pins the list, and each board pulls its own platform from it. */
const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export interface TagResolverOptions {
  /** The stored login of a registry, if any; sent only when the registry asks (401). */
  loginFor: (ref: TagReference) => RegistryAuth | undefined;
  get?: HttpGet;
  timeoutMs?: number;
}

/**
 * Resolves tags with `HEAD /v2/<repository>/manifests/<tag>` (Docker Registry HTTP API v2) and
 * its `Docker-Content-Digest` header, answering a 401 once with the stored login (Basic, or a
 * token from the realm). Plain HTTP only for loopback registries, as the engine itself allows.
 */
export function registryTagResolver(options: TagResolverOptions): ResolveTag {
  const get = options.get ?? (fetch as HttpGet);
  const timeoutMs = options.timeoutMs ?? 5_000;
  return async (ref) => {
    const scheme = /^(127\.\d+\.\d+\.\d+|localhost)(:\d+)?$/.test(ref.apiHost) ? 'http' : 'https';
    const url = `${scheme}://${ref.apiHost}/v2/${ref.repository}/manifests/${ref.tag}`;
    const head = (authorization?: string) =>
      fetch(url, {
        method: 'HEAD',
        headers: { accept: MANIFEST_TYPES, ...(authorization ? { authorization } : {}) },
        signal: AbortSignal.timeout(timeoutMs),
      });
    let res = await head().catch((e: Error) => {
      throw new Error(`${ref.apiHost} is unreachable: ${e.message}`);
    });
    const login = options.loginFor(ref);
    const challenge = res.status === 401 && login ? parseChallenge(res.headers.get('www-authenticate')) : undefined;
    if (challenge && login) {
      const authorization = await answerChallenge(challenge, login, ref.repository, get, timeoutMs);
      if (authorization) res = await head(authorization);
    }
    if (!res.ok) {
      const why = res.status === 401 ? (login ? 'the stored login was refused' : 'it wants a login and none is stored') : 'no such tag';
      throw new Error(`HTTP ${res.status} from ${ref.apiHost}: ${why}`);
    }
    const digest = res.headers.get('docker-content-digest');
    if (!digest || !DIGEST.test(digest)) throw new Error(`${ref.apiHost} answered without a sha256 Docker-Content-Digest`);
    return digest;
  };
}
