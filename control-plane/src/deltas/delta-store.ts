import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** zstd's strongest regular level: deltas are made once and downloaded by a whole fleet. */
export const DELTA_LEVEL = 19;

/**
 * Delta files on the control plane's disk, named by their own SHA-256 (content-addressed, so a
 * delta computed twice is stored once). Made by Debian's `zstd --patch-from` (BENCHMARKS.md,
 * "delta", says why zstd and not xdelta3), which the device applies with the same tool.
 */
export class DeltaStore {
  constructor(private readonly dir: string) {}

  /** A scratch directory for one computation; removed by the caller's `finally`. */
  async scratch(): Promise<string> {
    const dir = join(this.dir, 'tmp', randomUUID());
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /** Patches `base` into `target`; the delta is stored under its digest, which is answered with its size. */
  async create(base: string, target: string, scratch: string): Promise<{ digest: string; size: number }> {
    const out = join(scratch, `${randomUUID()}.zst`);
    await zstd(['-q', `-${DELTA_LEVEL}`, '--long=31', `--patch-from=${base}`, target, '-o', out]);
    const hash = createHash('sha256');
    await pipeline(createReadStream(out), hash);
    const hex = hash.digest('hex');
    const { size } = await stat(out);
    await rename(out, this.path(`sha256:${hex}`));
    return { digest: `sha256:${hex}`, size };
  }

  /** The stored delta, or undefined. */
  async open(digest: string): Promise<{ stream: Readable; size: number } | undefined> {
    const path = this.path(digest);
    const found = await stat(path).catch(() => undefined);
    return found ? { stream: createReadStream(path), size: found.size } : undefined;
  }

  async remove(scratch: string): Promise<void> {
    await rm(scratch, { recursive: true, force: true });
  }

  private path(digest: string): string {
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`not a sha256 digest: ${digest}`);
    return join(this.dir, digest.replace(':', '-'));
  }
}

export function zstd(args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('zstd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    child.on('error', (err) => reject(new Error(`zstd could not be started (install Debian's zstd): ${err.message}`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`zstd ${args.join(' ')} exited ${code}: ${stderr.trim()}`))));
  });
}
