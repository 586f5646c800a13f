import { lstat, mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
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
  const temp = join(dir, tempName(basename(path), process.pid));
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

/** The temporary file `writeFileAtomic` writes beside `name`: it carries the writer's pid, so a sweep can tell a live writer's. */
export function tempName(name: string, pid: number): string {
  return `.${name}.${pid}.tmp`;
}

const TEMP_NAME = /^\..+\.([0-9]+)\.tmp$/;

/**
 * Removes from `dir` the temporary files `writeFileAtomic` left when a crash or a power cut came
 * between their write and their rename, which nothing else would ever remove: only regular files
 * of that naming whose writer is gone (its pid not alive, or this process's own pid on a file older
 * than this process, a pid reused after a reboot). A live writer's (the launcher's, the technician
 * CLI's) is left alone. Returns the names removed; a missing `dir` has none.
 */
export async function sweepStaleTempFiles(dir: string, startedAtMs: number = performance.timeOrigin): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = Number(TEMP_NAME.exec(name)?.[1] ?? NaN);
    if (!Number.isSafeInteger(pid) || pid <= 0) continue;
    const path = join(dir, name);
    const stat = await lstat(path).catch(() => undefined);
    if (!stat?.isFile()) continue;
    if (pid === process.pid ? stat.mtimeMs >= startedAtMs : isAlive(pid)) continue;
    try {
      await unlink(path);
      removed.push(name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return removed;
}

/** Signal 0 checks without signalling; EPERM is a live process of another user. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
