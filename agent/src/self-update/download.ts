import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { get as httpGetRaw, type IncomingMessage } from 'node:http';
import { get as httpsGetRaw } from 'node:https';
import { pipeline } from 'node:stream/promises';
import { AgentError } from '../support/errors';

export class AgentDownloadError extends AgentError {
  readonly code = 'agent-download-failed';
}

/**
 * Streams `url` to `file`, hashing on the way; the file is removed unless its size and
 * SHA-256 are the release's (which the release signature covers). node:http rather than
 * fetch for the agent's memory (support/http-get.ts says why).
 */
export async function downloadVerified(target: { url: string; sha256: string; size: number }, file: string): Promise<void> {
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const get = new URL(target.url).protocol === 'https:' ? httpsGetRaw : httpGetRaw;
    get(target.url, resolve).on('error', reject);
  });
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
      response.destroy(new AgentDownloadError(`${target.url} is larger than the ${target.size} bytes the release says`));
  });
  try {
    await pipeline(response, createWriteStream(file, { mode: 0o644 }));
    const sha256 = hash.digest('hex');
    if (size !== target.size || sha256 !== target.sha256) {
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
