import { createReadStream, createWriteStream } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { giveUpOnSilence, type EngineClient } from '../runtime/engine-client';
import { DeltaUnusableError } from './errors';

/**
 * The engine calls of the delta path, over the engine's own socket: an image export (whose layer
 * tars are the engine's exact layers: the engine keeps tar-split data, so each one hashes to its
 * diff_id) and a `docker load` of the archive the agent assembled.
 */
export class EngineImages {
  constructor(private readonly engine: EngineClient) {}

  /** `docker save ref` into `file`. */
  async save(ref: string, file: string): Promise<void> {
    const res = await this.call('GET', `/images/${encodeURIComponent(ref)}/get`);
    await pipeline(res, createWriteStream(file));
  }

  /**
   * `docker load` of the docker-archive at `file`; the engine checks each layer against the config's
   * diff_ids. Not quiet: its progress lines keep the call from looking like a hung engine while a large
   * layer is written to a slow card.
   */
  async load(file: string): Promise<void> {
    const res = await this.call('POST', '/images/load?quiet=0', file);
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    for (const line of Buffer.concat(chunks).toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      const message = JSON.parse(line) as { error?: string; errorDetail?: { message?: string } };
      if (message.error)
        throw new DeltaUnusableError(`the engine refused the rebuilt image: ${message.errorDetail?.message ?? message.error}`);
    }
  }

  /** Whether the engine holds the image whose config has digest `id`. */
  async has(id: string): Promise<boolean> {
    const res = await this.call('GET', `/images/${id}/json`).catch(() => undefined);
    res?.resume();
    return res !== undefined;
  }

  private call(method: string, path: string, bodyFile?: string): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const headers = bodyFile ? { 'content-type': 'application/x-tar' } : undefined;
      let answer: IncomingMessage | undefined;
      const req = request({ ...this.engine.address, method, path, ...(headers ? { headers } : {}) }, (res) => {
        answer = res;
        if ((res.statusCode ?? 0) < 300) return resolve(res);
        res.resume();
        reject(new DeltaUnusableError(`engine ${method} ${path}: HTTP ${res.statusCode}`));
      });
      // A hung engine fails the delta, and the update falls back to a pull (which waits for the engine).
      giveUpOnSilence(req, this.engine.silenceLimitMs, method, path, () => answer);
      req.on('error', reject);
      if (bodyFile) void pipeline(createReadStream(bodyFile), req).catch(reject);
      else req.end();
    });
  }
}
