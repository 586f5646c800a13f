import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { openGet, readSmallBody } from '../support/http-get';
import { DeltaUnusableError } from './errors';

/**
 * GETs of the delta path (support/http-get.ts: node:http, https verified against the device's
 * pinned CAs only): bodies are streamed to disk and hashed on the way, so a delta or layer of
 * any size costs no memory and is checked against the digest it was asked by.
 */
export function getResponse(
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal,
  ca: readonly string[] | undefined,
): Promise<IncomingMessage> {
  return openGet(url, { headers, signal, ...(ca ? { ca } : {}) });
}

export async function getBytes(
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal,
  ca: readonly string[] | undefined,
): Promise<{ status: number; body: Buffer; res: IncomingMessage }> {
  const res = await getResponse(url, headers, signal, ca);
  return { status: res.statusCode ?? 0, body: await smallBody(res, url), res };
}

/** A small answer (a plan, a manifest, a config) read whole, within support/http-get.ts' bound. */
export function smallBody(res: IncomingMessage, url: string): Promise<Buffer> {
  return readSmallBody(res, url).catch((err: unknown) => {
    throw new DeltaUnusableError(`${url}: ${(err as Error).message}`);
  });
}

/**
 * Streams a 200 answer to `file` (gunzipped when `gunzip`); answers the sha256 of the bytes as
 * sent and, when gunzipped, of the bytes written, with the count of bytes received. A body longer
 * than `size`, the size its digest was announced with, is cut there: a wrong or endless answer
 * must not fill the disk before its digest is checked.
 */
export async function download(
  res: IncomingMessage,
  file: string,
  gunzip: boolean,
  size: number,
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
        if (bytes > size) return done(new DeltaUnusableError(`download is larger than the ${size} bytes announced; not used`));
        done(null, chunk);
      },
    });
  if (gunzip) await pipeline(res, tap(sent, true), createGunzip(), tap(written, false), createWriteStream(file));
  else await pipeline(res, tap(sent, true), createWriteStream(file));
  const sentDigest = `sha256:${sent.digest('hex')}`;
  return { sent: sentDigest, written: gunzip ? `sha256:${written.digest('hex')}` : sentDigest, bytes };
}
