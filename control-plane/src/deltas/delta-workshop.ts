import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A scratch directory untouched this long is a computation's that died with its process (a crash,
 * a power cut): its claim went stale after 30 minutes (`delta.repository.ts`) and another took over.
 */
export const STALE_SCRATCH_MS = 2 * 3600_000;

/** zstd's strongest regular level: deltas are made once and downloaded by a whole fleet (BENCHMARKS.md, "delta"). */
export const DELTA_LEVEL = 19;

/**
 * Where deltas are made: a scratch directory per computation on the control plane's disk, and
 * Debian's `zstd --patch-from` (BENCHMARKS.md, "delta", says why zstd and not xdelta3), which the
 * device applies with the same tool. The finished delta is kept in the database by digest.
 */
export class DeltaWorkshop {
  constructor(private readonly dir: string) {}

  /**
   * A scratch directory for one computation; removed by the caller's `finally`. Those of
   * computations that never reached theirs (`STALE_SCRATCH_MS`) are removed first: each held up to
   * two unpacked layers, and nothing else would ever remove them.
   */
  async scratch(): Promise<string> {
    await this.removeStale();
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

  private async removeStale(now = Date.now()): Promise<void> {
    const names = await readdir(this.dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return [];
      throw e;
    });
    for (const name of names) {
      const path = join(this.dir, name);
      const since = await stat(path).then(
        (s) => now - s.mtimeMs,
        () => 0,
      );
      if (since > STALE_SCRATCH_MS) await rm(path, { recursive: true, force: true });
    }
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
