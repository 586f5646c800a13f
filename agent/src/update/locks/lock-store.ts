import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../../support/errors';
import { API_LOCK, FILE_LOCK, apiLockBody, parseLockFile, type UpdateLock } from './lock';

/** Component names become directory names: nothing that could climb out of the locks directory. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export class InvalidComponentNameError extends Error {
  readonly code = 'invalid-component-name';
  constructor(name: string) {
    super(`"${name}" cannot name a lock directory: use letters, digits, ".", "_" and "-"`);
  }
}

/**
 * The update locks on disk: `<root>/<component>/update.lock` and `api.lock` (see `lock.ts`),
 * and `<root>/deferral.json`, when the candidate of which rev began to wait for them (so the
 * fleet's longest deferral counts across agent restarts). The only code that touches these files.
 */
export class LockStore {
  constructor(readonly root: string) {}

  dirOf(component: string): string {
    if (!SAFE_NAME.test(component)) throw new InvalidComponentNameError(component);
    return join(this.root, component);
  }

  async ensureDir(component: string): Promise<string> {
    const dir = this.dirOf(component);
    // 0777: the component's processes may run as any user; only that component gets the directory mounted.
    await mkdir(dir, { recursive: true, mode: 0o777 });
    return dir;
  }

  /** The locks of these components, as their files say now (expired or stale ones included: see `judgeLock`). */
  async list(components: readonly string[]): Promise<UpdateLock[]> {
    const locks: UpdateLock[] = [];
    for (const component of components) {
      for (const [file, via] of [
        [FILE_LOCK, 'file'],
        [API_LOCK, 'api'],
      ] as const) {
        const lock = await this.read(component, file, via);
        if (lock) locks.push(lock);
      }
    }
    return locks;
  }

  /** Takes (or renews) the component's API lock. Written whole, then renamed, so a crash never leaves half a file. */
  async take(component: string, holder: string, expiresAt: number): Promise<UpdateLock | undefined> {
    const dir = await this.ensureDir(component);
    const tmp = join(dir, `.${API_LOCK}.tmp`);
    await writeFile(tmp, apiLockBody(holder, expiresAt));
    await rename(tmp, join(dir, API_LOCK));
    return this.read(component, API_LOCK, 'api');
  }

  /** Removes a lock's file, unless it was written again since `lock` was read (its holder renewed it). */
  async release(lock: UpdateLock): Promise<boolean> {
    const path = join(this.dirOf(lock.component), lock.via === 'file' ? FILE_LOCK : API_LOCK);
    const now = await stat(path).catch(() => undefined);
    if (!now || now.mtimeMs !== lock.since) return false;
    await unlink(path).catch(() => undefined);
    return true;
  }

  /** When the candidate `rev` began to wait: recorded at the first call, read back after that. */
  async waitingSince(rev: number, now: number): Promise<number> {
    const path = join(this.root, 'deferral.json');
    const found = await readFile(path, 'utf8')
      .then((t) => JSON.parse(t) as { rev?: unknown; since?: unknown })
      .catch(() => undefined);
    if (found?.rev === rev && typeof found.since === 'number') return found.since;
    await mkdir(this.root, { recursive: true });
    await writeFile(path, JSON.stringify({ rev, since: now }) + '\n');
    return now;
  }

  /** Components with a lock directory (for listing what is held, whatever the assembly says). */
  async components(): Promise<string[]> {
    const entries = await readdir(this.root, { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory() && SAFE_NAME.test(e.name)).map((e) => e.name);
  }

  private async read(component: string, file: string, via: UpdateLock['via']): Promise<UpdateLock | undefined> {
    const path = join(this.dirOf(component), file);
    try {
      const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
      return parseLockFile(component, via, text, info.mtimeMs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`cannot read the update lock ${path}: ${errorMessage(err)}`, { cause: err });
    }
  }
}
