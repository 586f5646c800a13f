import { ThrottledCount } from '../throttled-count';
import { isTransientDbError, writesRefusedReason } from './transient-errors';

/** What a background loop should log for a failed round: a line, or nothing (said already within the minute). */
export type OutageLine = { level: 'error' | 'warn'; text: string } | undefined;

/** One line a minute at most while the database is away or refuses writes. */
export const OUTAGE_LOG_EVERY_MS = 60_000;

/**
 * The log of a loop that runs every few seconds against the database (the rollout engine's pass,
 * a replica's heartbeat). While the database is away (`isTransientDbError`) or refuses writes
 * (`writesRefusedReason`), every round fails the same way: the first failure is one line, later
 * ones at most one a minute with the count since, and the first success after says how long it
 * lasted, instead of a stack trace every 2 s for the length of the outage. Any other error is a
 * fault of the loop's own and is logged each time, with its stack. Pure: the caller logs.
 */
export class OutageLog {
  private since: number | undefined;
  private readonly rounds: ThrottledCount;

  constructor(
    private readonly what: string,
    private readonly now: () => number = () => Date.now(),
    everyMs = OUTAGE_LOG_EVERY_MS,
  ) {
    this.rounds = new ThrottledCount(everyMs, now);
  }

  failed(error: unknown): OutageLine {
    const refused = writesRefusedReason(error);
    if (!refused && !isTransientDbError(error)) {
      const e = error as Error;
      return { level: 'error', text: `${this.what} failed: ${e?.stack ?? String(error)}` };
    }
    this.since ??= this.now();
    const rounds = this.rounds.add();
    if (rounds === undefined) return undefined;
    const cause =
      refused === 'disk_full'
        ? "the database's disk is full"
        : refused === 'read_only'
          ? 'the database is read-only'
          : 'the database is unavailable';
    const count = rounds === 1 ? '' : ` (${rounds} rounds failed since the last line)`;
    return { level: 'warn', text: `${this.what} failed: ${cause}: ${(error as Error).message}${count}; it is tried again by itself` };
  }

  succeeded(): OutageLine {
    if (this.since === undefined) return undefined;
    const seconds = Math.round((this.now() - this.since) / 1000);
    this.since = undefined;
    this.rounds.reset();
    return { level: 'warn', text: `${this.what} works again, after ${seconds} s of database trouble` };
  }
}
