import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { HttpGet, HttpGetResponse } from '@flotilla/shared/device';

export type { HttpGet, HttpGetResponse };

/** Bodies above this are refused: registry manifests and token answers are a few KB. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * A GET over node:http / node:https. Not `fetch`: Node's `fetch` loads undici and its
 * WebAssembly HTTP parser on first use, about 20 MB of resident memory that then stays for
 * the life of the process; this keeps the agent's idle footprint down (BENCHMARKS.md "agent").
 * Follows no redirects (registry manifest and token endpoints answer directly).
 */
export const httpGet: HttpGet = (url, init) =>
  new Promise((resolve, reject) => {
    const target = typeof url === 'string' ? new URL(url) : url;
    const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(target, { method: 'GET', headers: init.headers, ...(init.signal ? { signal: init.signal } : {}) }, (res) =>
      readBody(res).then((body) => resolve(toResponse(res, body)), reject),
    );
    req.on('error', reject);
    req.end();
  });

function readBody(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) res.destroy(new Error(`response body over ${MAX_BODY_BYTES} bytes`));
      else chunks.push(chunk);
    });
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
    // Aborted (timeout) or cut off mid-body: settles the promise if 'end' never comes.
    res.on('close', () => {
      if (!res.complete) reject(new Error('connection closed before the response ended'));
    });
  });
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
  };
}
