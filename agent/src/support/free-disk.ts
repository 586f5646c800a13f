import { statfs } from 'node:fs/promises';

/** Bytes an unprivileged writer may still use on the file system holding `path`. */
export async function freeDiskBytes(path: string): Promise<number> {
  const { bavail, bsize } = await statfs(path);
  return bavail * bsize;
}
