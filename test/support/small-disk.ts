import { execFile } from 'node:child_process';
import { mkdtemp, open, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const FILLER = '.filler';

/** A real small file system (tmpfs; the tests run as root) that a test fills to ENOSPC and frees again. */
export interface SmallDisk {
  path: string;
  /** Takes every free byte, so that the next write fails with ENOSPC. */
  fill(): Promise<void>;
  /** Gives the space back. */
  free(): Promise<void>;
  unmount(): Promise<void>;
}

/** `owner`: a user (as uid) the file system's root belongs to, e.g. PostgreSQL's for a tablespace. */
export async function mountSmallDisk(sizeKiB = 1024, owner?: number): Promise<SmallDisk> {
  const path = await mkdtemp(join(tmpdir(), 'flotilla-small-disk-'));
  await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k,mode=0755${owner === undefined ? '' : `,uid=${owner}`}`, 'tmpfs', path]);
  const filler = join(path, FILLER);
  return {
    path,
    async fill() {
      const file = await open(filler, 'a');
      const chunk = Buffer.alloc(4096, 1);
      try {
        for (;;) await file.write(chunk);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
      } finally {
        await file.close();
      }
    },
    free: () => rm(filler, { force: true }),
    async unmount() {
      await run('umount', [path]);
      await rmdir(path);
    },
  };
}
