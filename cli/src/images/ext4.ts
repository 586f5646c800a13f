import { lstat, lutimes, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool } from './tools';

/**
 * ext4 partitions inside an image file through `mkfs.ext4 -d` (e2fsprogs), no mount.
 *
 * Reproducibility: a fixed UUID and hash_seed, 4 KiB blocks, E2FSPROGS_FAKE_TIME for the
 * superblock and the inodes mke2fs creates, every source file's atime/mtime set to the
 * epoch, and (mke2fs 1.47.0 copies each source file's ctime, which no one can set) a
 * debugfs pass that rewrites ctime on every inode afterwards.
 */
export async function formatExt4(
  image: string,
  part: { offset: number; size: number },
  options: { label: string; uuid: string; epoch: number; contents?: string },
): Promise<void> {
  const env = { E2FSPROGS_FAKE_TIME: String(options.epoch), SOURCE_DATE_EPOCH: String(options.epoch) };
  const paths = options.contents ? await pinTimes(options.contents, options.epoch) : [];
  const extended = [`offset=${part.offset}`, `hash_seed=${options.uuid}`, 'root_owner=0:0', 'lazy_itable_init=0', 'nodiscard'];
  await runTool(
    'mkfs.ext4',
    [
      '-q',
      '-F',
      '-b',
      '4096',
      '-L',
      options.label,
      '-U',
      options.uuid,
      '-E',
      extended.join(','),
      ...(options.contents ? ['-d', options.contents] : []),
      image,
      String(part.size / 4096),
    ],
    { env },
  );
  if (paths.length === 0) return;
  const work = await mkdtemp(join(tmpdir(), 'flotilla-ext4-'));
  const script = join(work, 'ctime.debugfs');
  await writeFile(script, paths.map((p) => `sif "${p}" ctime @${options.epoch}\n`).join(''));
  try {
    await runTool('debugfs', ['-w', '-f', script, `${image}?offset=${part.offset}`], { env });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Sets atime/mtime of everything under `root` to `epoch`; returns the paths as seen inside the file system. */
async function pinTimes(root: string, epoch: number): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string, inside: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const local = join(dir, name);
      const path = `${inside}/${name}`;
      // debugfs scripts cannot quote these names; such a file keeps its ctime.
      if (!/["\n]/.test(name)) found.push(path);
      const stat = await lstat(local);
      if (stat.isDirectory()) await walk(local, path);
      if (stat.isSymbolicLink()) await lutimes(local, epoch, epoch);
      else await utimes(local, epoch, epoch);
    }
  };
  await walk(root, '');
  await utimes(root, epoch, epoch);
  return found;
}

/** Reads one file from an ext4 partition inside an image (debugfs, read-only). */
export async function readExt4File(image: string, offset: number, path: string): Promise<Buffer> {
  const { stdout } = await runTool('debugfs', ['-R', `cat ${path}`, `${image}?offset=${offset}`]);
  return stdout;
}
