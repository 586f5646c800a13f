import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { HttpGet, HttpGetResponse } from '@flotilla/shared/device';
import { PinnedCaMissingError } from '../provisioning/errors';
import { AgentError, errorMessage } from './errors';

export type { HttpGet, HttpGetResponse };

/**
 * Every GET the agent makes (registry facts and blobs, deltas, OS images, agent bundles) goes
 * through here, over node:http / node:https. Not `fetch`: Node's `fetch` is undici, which
 * parses HTTP with WebAssembly. The agent runs with `--lite-mode` (shared/src/agent-node-flags.ts),
 * where WebAssembly does not exist, and undici's parser alone kept about 20 MB resident.
 *
 * Trust: an https:// URL is verified against `ca` only, the CAs pinned at provisioning (a `ca`
 * list given to Node replaces its built-in roots); without one it is refused. Bodies are not
 * buffered unless asked (`httpGet`): `openGet` hands over the response stream, which the caller
 * reads at its own pace (back-pressure reaches the socket).
 */
export interface GetOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** The device's pinned CAs (provisioning `caCertificates`): the only roots an https:// server may chain to. */
  ca?: readonly string[];
  /** No byte for this long, while connecting or mid-body, fails the request. */
  idleTimeoutMs?: number;
  /** Redirects followed (3xx with a Location), each checked like the first URL; 0 unless set. */
  maxRedirects?: number;
}

/** A GET that could not be carried out: unreachable, TLS refused, stalled, or redirected badly. */
export class HttpGetError extends AgentError {
  readonly code = 'http-get-failed';
}

const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
/** Buffered answers above this are refused: registry manifests and token answers are a few KB. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const TLS_TRUST_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The response of a GET, status and headers read, body not yet; the caller reads or `resume()`s it. */
export async function openGet(url: string, options: GetOptions = {}): Promise<IncomingMessage> {
  let target = url;
  for (let redirects = 0; ; redirects++) {
    const res = await openOnce(target, options);
    const location = res.headers.location;
    if (res.statusCode === undefined || res.statusCode < 300 || res.statusCode >= 400 || !location) return res;
    if (redirects >= (options.maxRedirects ?? 0)) return res;
    res.resume();
    const next = new URL(location, target);
    if (new URL(target).protocol === 'https:' && next.protocol !== 'https:')
      throw new HttpGetError(`GET ${url}: redirected from https to ${next.protocol}//${next.host}; refused`, { terminal: true });
    target = next.href;
  }
}

function openOnce(url: string, options: GetOptions): Promise<IncomingMessage> {
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    return Promise.reject(new HttpGetError(`GET ${url}: only http:// and https:// are fetched`, { terminal: true }));
  const secure = parsed.protocol === 'https:';
  if (secure && !options.ca?.length) return Promise.reject(new PinnedCaMissingError(url));
  const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const common = { method: 'GET', headers: options.headers, timeout: idleMs, agent: false as const, signal: options.signal };
    const req = secure
      ? httpsRequest(parsed, { ...common, ca: [...options.ca!], rejectUnauthorized: true, minVersion: 'TLSv1.2' })
      : httpRequest(parsed, common);
    let response: IncomingMessage | undefined;
    // The socket's idle timeout covers connecting, waiting for headers and a body that stalls.
    req.on('timeout', () => {
      const stalled = new HttpGetError(`GET ${url}: no data for ${idleMs / 1000} s`);
      if (response) response.destroy(stalled);
      else req.destroy(stalled);
    });
    req.on('error', (err) => reject(describe(url, err)));
    req.on('response', (res) => {
      response = res;
      resolve(res);
    });
    req.end();
  });
}

function describe(url: string, err: Error): Error {
  if (err instanceof AgentError || err.name === 'AbortError') return err;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (TLS_TRUST_CODES.has(code))
    return new HttpGetError(
      `GET ${url}: the server's certificate is not trusted (${code}); the device trusts only the caCertificates of its provisioning file`,
      { cause: err },
    );
  return new HttpGetError(`GET ${url}: ${errorMessage(err)}`, { cause: err });
}

/** Reads a whole (small) body; a stream that ends early or runs over `max` bytes rejects. */
export async function readSmallBody(res: IncomingMessage, url: string, max = MAX_BUFFERED_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > max) {
      res.destroy();
      throw new HttpGetError(`GET ${url}: answer over ${max} bytes`, { terminal: true });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** A buffered GET with the shape `registryFacts` and registry logins take, trusting only `ca`. */
export function pinnedHttpGet(ca: readonly string[] | undefined): HttpGet {
  return async (url, init) => {
    const href = typeof url === 'string' ? url : url.href;
    const res = await openGet(href, { headers: init.headers, ...(init.signal ? { signal: init.signal } : {}), ...(ca ? { ca } : {}) });
    const body = await readSmallBody(res, href);
    return toResponse(res, body);
  };
}

function toResponse(res: IncomingMessage, body: Buffer): HttpGetResponse {
  const status = res.statusCode ?? 0;
  return {
    ok: status >= 200 && status < 300,
    status,
    headers: {
      get: (name) => {
        const value = res.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    },
    json: async () => JSON.parse(body.toString('utf8')) as unknown,
    arrayBuffer: async () => new Uint8Array(body).buffer,
  };
}
