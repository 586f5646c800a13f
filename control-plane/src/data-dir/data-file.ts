import { randomBytes } from 'node:crypto';
import { link, lstat, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

const TEMP_ID_BYTES = 6;
const TEMP_NAME = new RegExp(`^\\..+\\.[0-9a-f]{${TEMP_ID_BYTES * 2}}\\.tmp$`);

/**
 * How much older than this process's start a temporary file must be to be swept: replicas may share
 * the data directory, and another one's write (a few KiB, fsynced) that began before this start
 * must be left to finish. Far longer than such a write takes.
 */
export const TEMP_SWEEP_MARGIN_MS = 60_000;

/** The temporary file `writeDurable` writes beside `name`, `id` being random hex (no pid: replicas on other hosts share the directory). */
export function tempName(name: string, id: string): string {
  return `.${name}.${id}.tmp`;
}

/** Error numbers that mean the disk (or the user's quota) has no room: answered 507, not 500. */
const NO_SPACE = new Set(['ENOSPC', 'EDQUOT']);

/**
 * A file of the data directory could not be written. Nothing was replaced: the file holds what
 * it held before (or does not exist), and no partial copy is left beside it.
 */
export class DataFileWriteError extends Error {
  override readonly name = 'DataFileWriteError';
  /** True when the disk is full; the API answers 507 `disk_full` (docs/architecture.md, "The control plane's own files"). */
  readonly diskFull: boolean;
  constructor(
    readonly path: string,
    override readonly cause: NodeJS.ErrnoException,
  ) {
    const full = NO_SPACE.has(cause.code ?? '');
    super(
      full
        ? `could not write ${path}: the disk is full (${cause.code}); free space on it and try again`
        : `could not write ${path}: ${cause.message}`,
    );
    this.diskFull = full;
  }
}

/** A file of the data directory exists but cannot be used; the message says which, what is wrong and what to do. */
export class DataFileInvalidError extends Error {
  override readonly name = 'DataFileInvalidError';
  constructor(
    readonly path: string,
    problem: string,
    remedy: string,
  ) {
    super(`${path} ${problem}; ${remedy}`);
  }
}

export interface DurableWriteOptions {
  mode: number;
  /** Fail with EEXIST rather than replace a file that is there (another replica made it first). */
  exclusive?: boolean;
}

/**
 * Writes `path` so that a crash, a power cut or a full disk leaves either the old file (or
 * none) or the whole new one, never a truncated key or certificate that a later start would
 * refuse or, worse, take as valid: a temporary file beside it is written and fsynced, then
 * renamed over it (or hard-linked, which refuses to replace, when `exclusive`), then the
 * directory is fsynced so the new name survives. The temporary file is removed on failure.
 */
export async function writeDurable(path: string, content: string | Buffer, options: DurableWriteOptions): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, tempName(basename(path), randomBytes(TEMP_ID_BYTES).toString('hex')));
  try {
    const file = await open(temp, 'wx', options.mode);
    try {
      await file.writeFile(content);
      await file.chmod(options.mode);
      await file.sync();
    } finally {
      await file.close();
    }
    if (options.exclusive) await link(temp, path);
    else await rename(temp, path);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw asWriteError(path, e);
  }
  if (options.exclusive) await unlink(temp).catch(() => undefined);
  try {
    await syncDirectory(dir);
  } catch (e) {
    throw asWriteError(path, e);
  }
}

/**
 * Removes from `dir` the temporary files `writeDurable` left when a crash or a power cut came between
 * their write and their rename, which nothing else would ever remove: only regular files of that
 * naming, last written `TEMP_SWEEP_MARGIN_MS` before this process started. Returns the names removed;
 * a missing `dir` has none.
 */
export async function sweepStaleTemps(dir: string, startedAtMs: number = performance.timeOrigin): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw asWriteError(dir, e);
  }
  const removed: string[] = [];
  for (const name of names.filter((n) => TEMP_NAME.test(n))) {
    const path = join(dir, name);
    const stat = await lstat(path).catch(() => undefined);
    if (!stat?.isFile() || stat.mtimeMs >= startedAtMs - TEMP_SWEEP_MARGIN_MS) continue;
    try {
      await unlink(path);
      removed.push(name);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw asWriteError(path, e);
    }
  }
  return removed;
}

/** Removes `path` and makes the removal durable (a revoked key must stay gone after a power cut). */
export async function removeDurable(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw asWriteError(path, e);
  }
  await syncDirectory(dirname(path));
}

/** The file's text, or undefined when it does not exist; any other failure names the file. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DataFileInvalidError(path, `cannot be read (${(e as Error).message})`, 'make it a file the control plane can read');
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function asWriteError(path: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException).code;
  // EEXIST is the caller's to handle (another process made the file first).
  if (code === 'EEXIST' || typeof code !== 'string') return e as Error;
  return new DataFileWriteError(path, e as NodeJS.ErrnoException);
}
