import { z } from 'zod';

/**
 * Update locks (agent/README.md, "Update locks"). A component that asked for them in its assembly
 * (`x-flotilla.updateLock: true`) finds its lock directory at `LOCK_DIR_IN_CONTAINER`; on the
 * device it is `<state dir>/locks/<component>/`, so every lock is scoped to its component by
 * where it lies. Two ways to hold one, both files on disk (they survive an agent restart and a
 * reboot):
 *   - `update.lock`, written by the component itself: `{"holder":"print job 42","pid":17,"ttlSeconds":600}`
 *     (or `expiresAt` instead of `ttlSeconds`). With a `pid`, the lock lives only as long as that
 *     process does (a lock left by a dead process is stale); without one, until it expires.
 *   - `api.lock`, written by the agent when the component asks through the lock socket
 *     (`agent.sock` in the same directory): lives until released or expired.
 */
export const LOCK_DIR_IN_CONTAINER = '/var/lib/flotilla/lock';
export const FILE_LOCK = 'update.lock';
export const API_LOCK = 'api.lock';
export const LOCK_SOCKET = 'agent.sock';

/** A lock file that says nothing readable still holds, for this long after it was written: a typo must not switch a print job off. */
export const UNREADABLE_LOCK_TTL_MS = 60 * 60_000;

export interface UpdateLock {
  component: string;
  via: 'file' | 'api';
  holder: string;
  /** The holding process, as its container sees it. */
  pid?: number;
  /** Epoch ms: when it was written. */
  since: number;
  expiresAt: number;
}

const LockFileBody = z
  .object({
    holder: z.string().max(128).default(''),
    pid: z.number().int().positive().optional(),
    ttlSeconds: z.number().int().positive().optional(),
    expiresAt: z.string().datetime({ offset: true }).optional(),
  })
  .refine((b) => (b.ttlSeconds === undefined) !== (b.expiresAt === undefined), { message: 'give exactly one of ttlSeconds, expiresAt' });

/**
 * A lock file's content as a lock; `writtenAt` is the file's modification time. An unreadable
 * file is a lock all the same (held for `UNREADABLE_LOCK_TTL_MS`), its holder naming the error.
 */
export function parseLockFile(component: string, via: UpdateLock['via'], text: string, writtenAt: number): UpdateLock {
  let body: z.infer<typeof LockFileBody>;
  try {
    const parsed = LockFileBody.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.') || 'lock'}: ${i.message}`).join('; '));
    body = parsed.data;
  } catch (err) {
    const why = (err as Error).message.slice(0, 80);
    return { component, via, holder: `unreadable lock file (${why})`, since: writtenAt, expiresAt: writtenAt + UNREADABLE_LOCK_TTL_MS };
  }
  const expiresAt = body.expiresAt !== undefined ? Date.parse(body.expiresAt) : writtenAt + body.ttlSeconds! * 1000;
  return {
    component,
    via,
    holder: body.holder || `${component} (${via})`,
    ...(body.pid !== undefined ? { pid: body.pid } : {}),
    since: writtenAt,
    expiresAt,
  };
}

/** What the agent writes into `api.lock` for a lock taken through the socket. */
export function apiLockBody(holder: string, expiresAt: number): string {
  return JSON.stringify({ holder, expiresAt: new Date(expiresAt).toISOString() }) + '\n';
}
