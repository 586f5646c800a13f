import { open, type FileHandle } from 'node:fs/promises';

/**
 * The first `maxBytes` of a bootloader's environment file (the area the bootloader reads; a damaged
 * file system may show a larger file, which is not read whole), or undefined when the file is not
 * there yet.
 */
export async function readEnvFile(path: string, maxBytes: number): Promise<Buffer | undefined> {
  let file: FileHandle;
  try {
    file = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const buffer = Buffer.alloc(maxBytes);
    let filled = 0;
    for (let n = -1; n !== 0 && filled < maxBytes; filled += n) n = (await file.read(buffer, filled, maxBytes - filled, filled)).bytesRead;
    return buffer.subarray(0, filled);
  } finally {
    await file.close();
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
