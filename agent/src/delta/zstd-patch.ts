import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { freeDiskBytes } from '../support/free-disk';
import { DeltaUnusableError } from './errors';

/**
 * How many bytes a layer rebuilt in `dir` may take: what the file system has free, less what must
 * stay free (FLOTILLA_DISK_RESERVE_BYTES: the journals and the containers' volumes share the disk).
 */
export async function roomFor(dir: string, reserveBytes: number): Promise<number> {
  return (await freeDiskBytes(dir)) - reserveBytes;
}

/**
 * Rebuilds a layer: `zstd --patch-from=base` of `patch` into `out`, at most `maxBytes` of it. A
 * rebuilt layer is only checked against the release's digest once whole, and neither the delta
 * plan nor its patch is signed: a patch that expands without end (a few KiB can stand for
 * gigabytes) would fill the disk first. Past `maxBytes` zstd is stopped, `out` removed, and the
 * delta refused (the image is then pulled whole).
 */
export async function zstdPatch(base: string, patch: string, out: string, maxBytes: number): Promise<void> {
  if (maxBytes <= 0) throw new DeltaUnusableError(`no room to rebuild a layer in ${dirname(out)} beside the disk reserve`);
  const child = spawn('zstd', ['-q', '-d', '-c', '--long=31', `--patch-from=${base}`, patch], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-1000)));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (err) => reject(new DeltaUnusableError(`zstd could not be started (install zstd): ${err.message}`)));
    child.on('close', (code) => resolve(code));
  });
  let written = 0;
  const bounded = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      written += chunk.length;
      if (written > maxBytes)
        return done(new DeltaUnusableError(`the delta rebuilds a layer past ${maxBytes} bytes, the room left on the disk`));
      done(null, chunk);
    },
  });
  try {
    await pipeline(child.stdout, bounded, createWriteStream(out));
  } catch (e) {
    child.kill('SIGKILL');
    await exited.catch(() => undefined);
    await rm(out, { force: true });
    throw e instanceof DeltaUnusableError ? e : new DeltaUnusableError(`rebuilding a layer into ${out} failed: ${(e as Error).message}`);
  }
  const code = await exited;
  if (code !== 0) {
    await rm(out, { force: true });
    throw new DeltaUnusableError(`zstd exited ${code}: ${stderr.trim()}`);
  }
}
