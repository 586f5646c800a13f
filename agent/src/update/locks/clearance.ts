import type { UpdatePolicy } from '@flotilla/shared/device';
import type { UpdateLock } from './lock';

/** What the engine says of a component's container, for telling a live lock from a stale one. */
export interface HolderFacts {
  /** Epoch ms of the container's last start; undefined when it is not running. */
  startedAt: number | undefined;
  /** Processes inside it, as the container sees them; null when the engine could not tell. */
  pids: readonly number[] | null;
}

export type Judged = { lock: UpdateLock; verdict: 'held' } | { lock: UpdateLock; verdict: 'expired' | 'stale'; why: string };

/**
 * Which locks still hold. A lock past its expiry is released. A lock naming a process is
 * stale once that process is gone: its container is not running, restarted after the lock was
 * written (a reboot does that), or no longer has that pid. Locks without a pid hold until they expire.
 */
export function judgeLock(lock: UpdateLock, now: number, holder: HolderFacts | undefined): Judged {
  if (lock.expiresAt <= now) return { lock, verdict: 'expired', why: `expired at ${new Date(lock.expiresAt).toISOString()}` };
  if (lock.pid === undefined) return { lock, verdict: 'held' };
  if (!holder || holder.startedAt === undefined) return { lock, verdict: 'stale', why: `its component "${lock.component}" is not running` };
  if (holder.startedAt > lock.since) {
    return { lock, verdict: 'stale', why: `its component "${lock.component}" restarted after the lock was taken` };
  }
  if (holder.pids !== null && !holder.pids.includes(lock.pid)) {
    return { lock, verdict: 'stale', why: `process ${lock.pid} of "${lock.component}" is gone` };
  }
  return { lock, verdict: 'held' };
}

export type Clearance =
  | { kind: 'switch' }
  /** Locks are held, but the operator forced the update or the fleet's longest deferral ran out. */
  | { kind: 'override'; why: string; locks: UpdateLock[] }
  | { kind: 'wait'; locks: UpdateLock[]; until: number | null };

/**
 * May a downloaded candidate switch now? `waitingSince`: when it first had to wait for a lock
 * (epoch ms), so the fleet's `lockMaxDeferSeconds` counts from there, across agent restarts.
 */
export function switchClearance(
  held: readonly UpdateLock[],
  policy: UpdatePolicy | undefined,
  waitingSince: number,
  now: number,
): Clearance {
  if (held.length === 0) return { kind: 'switch' };
  const locks = [...held];
  if (policy?.force) return { kind: 'override', why: 'forced by an operator', locks };
  const until = policy?.lockMaxDeferSeconds !== undefined ? waitingSince + policy.lockMaxDeferSeconds * 1000 : null;
  if (until !== null && now >= until) {
    return { kind: 'override', why: `locks deferred the update for the fleet's longest ${policy!.lockMaxDeferSeconds} s`, locks };
  }
  return { kind: 'wait', locks, until };
}
