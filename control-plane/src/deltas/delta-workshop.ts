import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** zstd's strongest regular level: deltas are made once and downloaded by a whole fleet (BENCHMARKS.md, "delta"). */
export const DELTA_LEVEL = 19;

/**
 * Where deltas are made: a scratch directory per computation on the control plane's disk, and
 * Debian's `zstd --patch-from` (BENCHMARKS.md, "delta", says why zstd and not xdelta3), which the
 * device applies with the same tool. The finished delta is kept in the database by digest.
 */
export class DeltaWorkshop {
  constructor(private readonly dir: string) {}

  /** A scratch directory for one computation; removed by the caller's `finally`. */
  async scratch(): Promise<string> {
    const dir = join(this.dir, randomUUID());
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /** Patches `base` into `target`: the delta's bytes and digest. */
  async create(base: string, target: string, scratch: string): Promise<{ digest: string; bytes: Buffer }> {
    const out = join(scratch, `${randomUUID()}.zst`);
    await zstd(['-q', `-${DELTA_LEVEL}`, '--long=31', `--patch-from=${base}`, target, '-o', out]);
    const bytes = await readFile(out);
    return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, bytes };
  }

  async remove(scratch: string): Promise<void> {
    await rm(scratch, { recursive: true, force: true });
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
