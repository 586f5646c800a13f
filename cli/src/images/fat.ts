import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { ImageToolError } from './errors';
import { SECTOR } from './layout';
import { runTool } from './tools';

/**
 * FAT partitions inside an image file, at a byte offset, through dosfstools and mtools:
 * no loop device, no mount, no root.
 */

export interface FatFile {
  /** Path inside the partition, e.g. `flotilla/provisioning.json`. */
  path: string;
  content: Buffer | string;
}

/** Every file under `dir` (firmware, kernel, device trees), as boot-partition files for `--boot-files DIR`. */
export async function readBootFilesDir(dir: string): Promise<FatFile[]> {
  const files: FatFile[] = [];
  const walk = async (local: string, inside: string): Promise<void> => {
    const entries = await readdir(local, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
      throw new ImageToolError('boot-files-unreadable', `--boot-files ${dir}: ${e.message}`);
    });
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const path = inside ? posix.join(inside, entry.name) : entry.name;
      if (entry.isDirectory()) await walk(join(local, entry.name), path);
      else if (entry.isFile()) files.push({ path, content: await readFile(join(local, entry.name)) });
    }
  };
  await walk(dir, '');
  return files;
}

/** Sectors per cluster that keep a FAT32 volume above its 65525-cluster minimum. */
function sectorsPerCluster(bytes: number): number {
  let spc = 8;
  while (spc > 1 && bytes / SECTOR / spc < 66_000) spc /= 2;
  return spc;
}

export async function formatFat(image: string, part: { offset: number; size: number }, label: string, volumeId: string): Promise<void> {
  // --invariant: fixed timestamps and no random serial, for reproducible images.
  await runTool('mkfs.vfat', [
    '--invariant',
    '-F',
    '32',
    '-s',
    String(sectorsPerCluster(part.size)),
    '-n',
    label.toUpperCase(),
    '-i',
    volumeId,
    `--offset=${part.offset / SECTOR}`,
    image,
    String(part.size / 1024),
  ]);
}

/** mtools' address of a partition inside an image file. */
const drive = (image: string, offset: number): string => `${image}@@${offset}`;

/**
 * Writes files (creating their directories), overwriting existing ones. `epoch` fixes the
 * timestamps mtools records (SOURCE_DATE_EPOCH and the source files' mtime with -m).
 */
export async function writeFatFiles(image: string, offset: number, files: readonly FatFile[], epoch: number): Promise<void> {
  const env = { SOURCE_DATE_EPOCH: String(epoch), MTOOLS_SKIP_CHECK: '1' };
  const staging = await mkdtemp(join(tmpdir(), 'flotilla-fat-'));
  try {
    const dirs = new Set<string>();
    for (const file of files) {
      for (let d = posix.dirname(file.path); d !== '.' && d !== '/'; d = posix.dirname(d)) dirs.add(d);
    }
    for (const dir of [...dirs].sort()) {
      if (!(await fatExists(image, offset, dir))) await runTool('mmd', ['-i', drive(image, offset), `::/${dir}`], { env });
    }
    for (const [i, file] of files.entries()) {
      const local = join(staging, String(i));
      await writeFile(local, file.content);
      await utimes(local, epoch, epoch);
      await runTool('mcopy', ['-o', '-m', '-i', drive(image, offset), local, `::/${file.path}`], { env });
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

export async function readFatFile(image: string, offset: number, path: string): Promise<Buffer> {
  const { stdout } = await runTool('mcopy', ['-n', '-i', drive(image, offset), `::/${path}`, '-'], { env: { MTOOLS_SKIP_CHECK: '1' } });
  return stdout;
}

async function fatExists(image: string, offset: number, path: string): Promise<boolean> {
  try {
    await runTool('mdir', ['-b', '-i', drive(image, offset), `::/${path}`], {
      env: { MTOOLS_SKIP_CHECK: '1' },
    });
    return true;
  } catch {
    return false;
  }
}
