import { createHash } from 'node:crypto';
import { z } from 'zod';
import { pickPlatform, type Platform, type PlatformFields } from './platform';
import { isRegistryToken, type RegistryAuth, type RegistryLogin } from './registry-auth';

/**
 * Reading an image's facts from its registry (OCI distribution API) without pulling it:
 * which platforms it offers and the compressed size of its layers for the device's own. The agent asks
 * before it pulls (VERIFY: disk, architecture); the control plane asks for a rollout's
 * dry run (how much each device would download). The HTTP GET is the caller's: `fetch`
 * on the control plane, a node:http one on the device (see agent/src/support/http-get.ts).
 * Everything is asked for by digest, and every answer is hashed and compared with the digest
 * asked for before it is believed: a registry cannot make the device refuse a release for
 * another architecture or for want of disk with a manifest that is not the pinned one.
 */

/** The part of a `fetch` Response read here. */
export interface HttpGetResponse {
  ok: boolean;
  status: number;
  headers: { get(name: string): string | null };
  json(): Promise<unknown>;
  /** The body's exact bytes: what a digest is checked against. */
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** A GET with the shape of `fetch`, so `fetch` itself can be passed. */
export type HttpGet = (url: string | URL, init: { headers: Record<string, string>; signal?: AbortSignal }) => Promise<HttpGetResponse>;

export interface RegistryImageFacts {
  /** Platforms the registry offers (a list's entries, or a single image's config); absent when it could not tell. */
  platforms?: PlatformFields[];
  /** Compressed size of the layers of the entry the engine would pull for the asked platform; absent when unknown. */
  sizeBytes?: number;
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

const Descriptor = z.object({
  digest: z.string(),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
  platform: z.object({ architecture: z.string().optional(), os: z.string().optional(), variant: z.string().optional() }).optional(),
});
const Manifest = z.object({
  manifests: z.array(Descriptor).optional(),
  config: Descriptor.optional(),
  layers: z.array(Descriptor).optional(),
});
type Manifest = z.infer<typeof Manifest>;
const ImageConfig = z.object({ architecture: z.string().optional(), os: z.string().optional(), variant: z.string().optional() });

/**
 * Size and platforms of an image pinned by digest, the size of the list entry the engine would
 * pull on `platform` (platform.ts). With `auth`, a 401 is answered once
 * (Basic, or a token from the realm it names) and that answer reused for the next requests;
 * the login is sent only to a registry that asks for it. Best effort: a registry that
 * refuses, is unreachable, answers oddly or with content that is not the digest asked for
 * yields `{}`, and `onUnknown` is told why. Plain HTTP only for loopback registries, as the
 * engine itself allows.
 */
export async function registryFacts(
  ref: string,
  platform: Platform,
  options: { auth?: RegistryAuth; get: HttpGet; timeoutMs?: number; onUnknown?: (reason: string) => void },
): Promise<RegistryImageFacts> {
  const parsed = parseImageRef(ref);
  if (!parsed) return {};
  const timeoutMs = options.timeoutMs ?? 5_000;
  const base = `${/^(127\.|localhost(:|$))/.test(parsed.host) ? 'http' : 'https'}://${parsed.host}/v2/${parsed.repository}`;
  let authorization: string | undefined;
  /** The answer for `digest` (`manifests/…` or `blobs/…`), once its bytes hash to that digest. */
  const get = async (kind: 'manifests' | 'blobs', digest: string, accept: string): Promise<unknown> => {
    if (!SHA256.test(digest)) throw new Error(`${kind}/${digest}: not a sha256 digest, its answer cannot be checked`);
    const request = () =>
      options.get(`${base}/${kind}/${digest}`, {
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
    if (!res.ok) throw new Error(`${kind}/${digest}: HTTP ${res.status}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (actual !== digest) throw new Error(`${kind}/${digest}: the registry answered content whose digest is ${actual}`);
    return JSON.parse(new TextDecoder().decode(bytes));
  };
  try {
    const top = shaped(Manifest, await get('manifests', parsed.digest, MANIFEST_TYPES));
    if (top.manifests) {
      const platforms = top.manifests.flatMap((m) => (m.platform?.architecture ? [m.platform] : []));
      const mine = pickPlatform(top.manifests, platform);
      if (!mine) return { platforms };
      const manifest = shaped(Manifest, await get('manifests', mine.digest, MANIFEST_TYPES));
      return { platforms, ...layerSize(manifest) };
    }
    const facts: RegistryImageFacts = layerSize(top);
    if (top.config?.digest) {
      const config = shaped(ImageConfig, await get('blobs', top.config.digest, 'application/json'));
      if (config.architecture) facts.platforms = [config];
    }
    return facts;
  } catch (err) {
    options.onUnknown?.(`${parsed.host}/${parsed.repository}: ${err instanceof Error ? err.message : String(err)}`);
    return {};
  }
}

const SHA256 = /^sha256:[0-9a-f]{64}$/;

function shaped<T>(schema: z.ZodType<T>, answer: unknown): T {
  const parsed = schema.safeParse(answer);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new Error(`unexpected answer at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
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
