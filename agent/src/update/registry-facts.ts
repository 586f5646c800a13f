import type { RegistryAuth } from '@flotilla/shared';
import type { ImageFacts } from './preflight';
import { answerChallenge, parseChallenge } from './registry-login';

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

interface Descriptor {
  digest: string;
  size?: number;
  platform?: { architecture?: string; os?: string };
}
interface Manifest {
  manifests?: Descriptor[];
  config?: Descriptor;
  layers?: Descriptor[];
}

type Facts = Pick<ImageFacts, 'architectures' | 'sizeBytes'>;

/**
 * Size and architectures of an image pinned by digest, read from its registry (OCI
 * distribution API) without pulling it. With `auth`, a 401 is answered once (Basic, or a
 * token from the realm it names) and that answer reused for the next requests; the login
 * is sent only to a registry that asks for it. Best effort: a registry that refuses,
 * is unreachable or answers oddly yields `{}`, and VERIFY falls back to its assumptions.
 * Plain HTTP only for loopback registries, as the engine itself allows.
 */
export async function registryFacts(
  ref: string,
  architecture: string,
  auth?: RegistryAuth,
  fetchFn: typeof fetch = fetch,
  timeoutMs = 5_000,
): Promise<Facts> {
  const parsed = parseRef(ref);
  if (!parsed) return {};
  const base = `${/^(127\.|localhost(:|$))/.test(parsed.host) ? 'http' : 'https'}://${parsed.host}/v2/${parsed.repository}`;
  let authorization: string | undefined;
  const get = async (path: string, accept: string): Promise<unknown> => {
    const request = () =>
      fetchFn(`${base}/${path}`, {
        headers: { accept, ...(authorization ? { authorization } : {}) },
        signal: AbortSignal.timeout(timeoutMs),
      });
    let res = await request();
    const challenge = res.status === 401 && auth && !authorization ? parseChallenge(res.headers.get('www-authenticate')) : undefined;
    if (challenge && auth) {
      authorization = await answerChallenge(challenge, auth, parsed.repository, fetchFn, timeoutMs);
      if (authorization) res = await request();
    }
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return res.json();
  };
  try {
    const top = (await get(`manifests/${parsed.digest}`, MANIFEST_TYPES)) as Manifest;
    if (top.manifests) {
      const architectures = [...new Set(top.manifests.map((m) => m.platform?.architecture).filter((a): a is string => !!a))];
      const mine = top.manifests.find((m) => m.platform?.architecture === architecture);
      if (!mine) return { architectures };
      const manifest = (await get(`manifests/${mine.digest}`, MANIFEST_TYPES)) as Manifest;
      return { architectures, ...layerSize(manifest) };
    }
    const facts: Facts = layerSize(top);
    if (top.config?.digest) {
      const config = (await get(`blobs/${top.config.digest}`, 'application/json')) as { architecture?: string };
      if (config.architecture) facts.architectures = [config.architecture];
    }
    return facts;
  } catch {
    return {};
  }
}

function layerSize(manifest: Manifest): Facts {
  if (!manifest.layers) return {};
  return { sizeBytes: manifest.layers.reduce((sum, l) => sum + (l.size ?? 0), 0) };
}

/** `host[:port]/repo/path@sha256:…`; Docker Hub short names are left to the engine. */
export function parseRef(ref: string): { host: string; repository: string; digest: string } | undefined {
  const match = /^([^/]+)\/(.+)@(sha256:[0-9a-f]{64})$/.exec(ref);
  if (!match) return undefined;
  const [, host, repository, digest] = match as unknown as [string, string, string, string];
  if (!/[.:]/.test(host) && host !== 'localhost') return undefined;
  return { host, repository: repository.replace(/:[^/]+$/, ''), digest };
}
