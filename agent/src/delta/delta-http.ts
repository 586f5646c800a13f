import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { get as httpGetRaw, type IncomingMessage } from 'node:http';
import { get as httpsGetRaw } from 'node:https';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DeltaUnusableError } from './errors';

/**
 * GETs of the delta path over node:http (support/http-get.ts says why not `fetch`): bodies are
 * streamed to disk and hashed on the way, so a delta or layer of any size costs no memory and
 * is checked against the digest it was asked by.
 */
export function getResponse(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const get = new URL(url).protocol === 'https:' ? httpsGetRaw : httpGetRaw;
    get(url, { headers, signal }, resolve).on('error', reject);
  });
}

export async function getBytes(
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<{ status: number; body: Buffer; res: IncomingMessage }> {
  const res = await getResponse(url, headers, signal);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > 4 * 1024 * 1024) throw new DeltaUnusableError(`${url}: answer over 4 MiB`);
    chunks.push(chunk as Buffer);
  }
  return { status: res.statusCode ?? 0, body: Buffer.concat(chunks), res };
}

/**
 * Streams a 200 answer to `file` (gunzipped when `gunzip`); answers the sha256 of the bytes as
 * sent and, when gunzipped, of the bytes written, with the count of bytes received.
 */
export async function download(
  res: IncomingMessage,
  file: string,
  gunzip: boolean,
): Promise<{ sent: string; written: string; bytes: number }> {
  if (res.statusCode !== 200) {
    res.resume();
    throw new DeltaUnusableError(`download answered HTTP ${res.statusCode}`);
  }
  const sent = createHash('sha256');
  const written = createHash('sha256');
  let bytes = 0;
  const tap = (hash: ReturnType<typeof createHash>, count: boolean) =>
    new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        if (count) bytes += chunk.length;
        done(null, chunk);
      },
    });
  if (gunzip) await pipeline(res, tap(sent, true), createGunzip(), tap(written, false), createWriteStream(file));
  else await pipeline(res, tap(sent, true), createWriteStream(file));
  const sentDigest = `sha256:${sent.digest('hex')}`;
  return { sent: sentDigest, written: gunzip ? `sha256:${written.digest('hex')}` : sentDigest, bytes };
}
