import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Replaces `path` so that after a crash or power cut it holds either the old or the new
 * content, never a torn mix: write a temporary file beside it, fsync it, rename it over
 * the old one (atomic on one file system), then fsync the directory so the rename itself
 * survives (rename(2), fsync(2)). On failure (a full disk) the temporary file is removed and
 * the old file is untouched.
 */
export async function writeFileAtomic(path: string, content: string, mode: number | null = 0o600, dirMode = 0o700): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: dirMode });
  const temp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  try {
    const file = await open(temp, 'w', mode ?? 0o600);
    try {
      await file.writeFile(content, 'utf8');
      // null: a file system without modes (FAT), where chmod fails.
      if (mode !== null) await file.chmod(mode);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (err) {
    // A full disk fails the write: the part written would otherwise hold the space it lacks.
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The file's text, or undefined when it does not exist. */
export async function readFileIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
