import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { AgentError } from '../support/errors';
import { freeDiskBytes } from '../support/free-disk';
import { openGet } from '../support/http-get';

export class AgentDownloadError extends AgentError {
  readonly code = 'agent-download-failed';
}

/**
 * The bundle must fit with `reserveBytes` left over: the data partition also holds the journals
 * and the containers' volumes, which a full disk would break. Checked before a byte is fetched;
 * space can be freed, so not terminal.
 */
export async function ensureRoom(dir: string, size: number, reserveBytes: number): Promise<void> {
  const free = await freeDiskBytes(dir);
  if (free < size + reserveBytes)
    throw new AgentDownloadError(
      `not enough room in ${dir} for the ${size}-byte agent bundle: ${free} bytes free, ${reserveBytes} must stay free; free space and it is tried again`,
    );
}

/**
 * Streams `url` to `file`, hashing on the way; the file is removed unless its size and
 * SHA-256 are the release's (which the release signature covers). Over support/http-get.ts:
 * https verified against the device's pinned CAs only, redirects followed (a release may
 * point at a file server that sends the client elsewhere).
 *
 * Which failures end the build for this release: a body longer than the release's size, or one
 * of its size whose digest differs, is other bytes than the release's (terminal). A shorter one
 * is a download cut short (a dropped link, a proxy's timeout: HTTP/1.1 without a length cannot
 * tell), retried like any network error.
 */
export async function downloadVerified(
  target: { url: string; sha256: string; size: number },
  file: string,
  ca: readonly string[] | undefined,
): Promise<void> {
  const response = await openGet(target.url, { maxRedirects: 5, ...(ca ? { ca } : {}) });
  if (response.statusCode !== 200) {
    response.resume();
    throw new AgentDownloadError(`GET ${target.url} answered ${response.statusCode}; the release's agent URL must serve the bundle`);
  }
  const hash = createHash('sha256');
  let size = 0;
  response.on('data', (chunk: Buffer) => {
    size += chunk.length;
    hash.update(chunk);
    if (size > target.size)
      response.destroy(
        new AgentDownloadError(`${target.url} is larger than the ${target.size} bytes the release says: not the release's bundle`, {
          terminal: true,
        }),
      );
  });
  try {
    await pipeline(response, createWriteStream(file, { mode: 0o644 }));
    if (size < target.size)
      throw new AgentDownloadError(`${target.url} ended after ${size} of the release's ${target.size} bytes; will download again`);
    const sha256 = hash.digest('hex');
    if (sha256 !== target.sha256) {
      throw new AgentDownloadError(
        `${target.url} has ${size} bytes with SHA-256 ${sha256}, the release says ${target.size} bytes with ${target.sha256}: not installed`,
        { terminal: true },
      );
    }
  } catch (err) {
    await rm(file, { force: true });
    throw err;
  }
}
