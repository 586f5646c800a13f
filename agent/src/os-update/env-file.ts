import { open, readFile } from 'node:fs/promises';

/** Bytes of a bootloader's environment file, or undefined when the file is not there yet. */
export async function readEnvFile(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Writes `bytes` at `offset` in place and fsyncs: bootloader environments are fixed-size
 * areas (a file U-Boot or GRUB opens by its blocks, or a raw device region), never replaced
 * by rename, since the bootloader does not follow a new inode's blocks the way Linux does.
 */
export async function writeEnvBytes(path: string, offset: number, bytes: Buffer): Promise<void> {
  const file = await open(path, 'a+').then(async (f) => {
    await f.close();
    return open(path, 'r+');
  });
  try {
    await file.write(bytes, 0, bytes.length, offset);
    await file.sync();
  } finally {
    await file.close();
  }
}
