import { isRegistryToken, type RegistryAuth, type RegistryLogin } from './registry-auth';

/**
 * Reading an image's facts from its registry (OCI distribution API) without pulling it:
 * which architectures it offers and the compressed size of its layers. The agent asks
 * before it pulls (VERIFY: disk, architecture); the control plane asks for a rollout's
 * dry run (how much each device would download). The HTTP GET is the caller's: `fetch`
 * on the control plane, a node:http one on the device (see agent/src/support/http-get.ts).
 */

/** The part of a `fetch` Response read here. */
export interface HttpGetResponse {
  ok: boolean;
  status: number;
  headers: { get(name: string): string | null };
  json(): Promise<unknown>;
}

/** A GET with the shape of `fetch`, so `fetch` itself can be passed. */
export type HttpGet = (url: string | URL, init: { headers: Record<string, string>; signal?: AbortSignal }) => Promise<HttpGetResponse>;

export interface RegistryImageFacts {
  /** Architectures the registry offers; absent when it could not tell. */
  architectures?: string[];
  /** Compressed size of the layers for the asked architecture; absent when unknown. */
  sizeBytes?: number;
}

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

/**
 * Size and architectures of an image pinned by digest. With `auth`, a 401 is answered once
 * (Basic, or a token from the realm it names) and that answer reused for the next requests;
 * the login is sent only to a registry that asks for it. Best effort: a registry that
 * refuses, is unreachable or answers oddly yields `{}`. Plain HTTP only for loopback
 * registries, as the engine itself allows.
 */
export async function registryFacts(
  ref: string,
  architecture: string,
  options: { auth?: RegistryAuth; get: HttpGet; timeoutMs?: number },
): Promise<RegistryImageFacts> {
  const parsed = parseImageRef(ref);
  if (!parsed) return {};
  const timeoutMs = options.timeoutMs ?? 5_000;
  const base = `${/^(127\.|localhost(:|$))/.test(parsed.host) ? 'http' : 'https'}://${parsed.host}/v2/${parsed.repository}`;
  let authorization: string | undefined;
  const get = async (path: string, accept: string): Promise<unknown> => {
    const request = () =>
      options.get(`${base}/${path}`, {
        headers: { accept, ...(authorization ? { authorization } : {}) },
        signal: AbortSignal.timeout(timeoutMs),
      });
    let res = await request();
    const challenge =
      res.status === 401 && options.auth && !authorization ? parseChallenge(res.headers.get('www-authenticate')) : undefined;
    if (challenge && options.auth) {
      authorization = await answerChallenge(challenge, options.auth, parsed.repository, options.get, timeoutMs);
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
    const facts: RegistryImageFacts = layerSize(top);
    if (top.config?.digest) {
      const config = (await get(`blobs/${top.config.digest}`, 'application/json')) as { architecture?: string };
      if (config.architecture) facts.architectures = [config.architecture];
    }
    return facts;
  } catch {
    return {};
  }
}

function layerSize(manifest: Manifest): RegistryImageFacts {
  if (!manifest.layers) return {};
  return { sizeBytes: manifest.layers.reduce((sum, l) => sum + (l.size ?? 0), 0) };
}

/** `host[:port]/repo/path@sha256:…`; Docker Hub short names are left to the engine. */
export function parseImageRef(ref: string): { host: string; repository: string; digest: string } | undefined {
  const match = /^([^/]+)\/(.+)@(sha256:[0-9a-f]{64})$/.exec(ref);
  if (!match) return undefined;
  const [, host, repository, digest] = match as unknown as [string, string, string, string];
  if (!/[.:]/.test(host) && host !== 'localhost') return undefined;
  return { host, repository: repository.replace(/:[^/]+$/, ''), digest };
}

/** What a registry's 401 asks for (`WWW-Authenticate`, RFC 7235; Docker's token scheme). */
export type Challenge = { scheme: 'basic' } | { scheme: 'bearer'; realm: string; service?: string; scope?: string };

/** The first challenge this client can answer, or undefined. */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const scheme = match[1]!.toLowerCase();
  if (scheme === 'basic') return { scheme: 'basic' };
  if (scheme !== 'bearer') return undefined;
  const params = new Map<string, string>();
  for (const m of match[2]!.matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    params.set(m[1]!.toLowerCase(), (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1'));
  }
  const realm = params.get('realm');
  if (!realm) return undefined;
  const service = params.get('service');
  const scope = params.get('scope');
  return { scheme: 'bearer', realm, ...(service ? { service } : {}), ...(scope ? { scope } : {}) };
}

export function basicAuthorization(auth: RegistryLogin): string {
  // btoa takes Latin-1 only: encode UTF-8 first (a password may hold any character).
  const bytes = new TextEncoder().encode(`${auth.username}:${auth.password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

/**
 * The `Authorization` header that answers `challenge` with `auth`: a token as `Bearer`, a login
 * as Basic (an htpasswd registry), or a pull token fetched from the realm with Basic
 * credentials (Docker Hub, GHCR, Harbor, …). Undefined when the realm gives no token.
 */
export async function answerChallenge(
  challenge: Challenge,
  auth: RegistryAuth,
  repository: string,
  get: HttpGet,
  timeoutMs: number,
): Promise<string | undefined> {
  // A token the control plane issued is the registry's own answer already: no realm to ask.
  if (isRegistryToken(auth)) return `Bearer ${auth.token}`;
  if (challenge.scheme === 'basic') return basicAuthorization(auth);
  const url = new URL(challenge.realm);
  if (challenge.service) url.searchParams.set('service', challenge.service);
  url.searchParams.set('scope', challenge.scope ?? `repository:${repository}:pull`);
  const res = await get(url, { headers: { authorization: basicAuthorization(auth) }, signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) return undefined;
  const body = (await res.json()) as { token?: unknown; access_token?: unknown };
  const token = typeof body.token === 'string' ? body.token : typeof body.access_token === 'string' ? body.access_token : undefined;
  return token ? `Bearer ${token}` : undefined;
}
