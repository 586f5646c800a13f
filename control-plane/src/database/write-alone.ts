import { setTimeout as sleep } from 'node:timers/promises';
import { backoffMs, isTransientDbError, writesRefusedReason, type WritesRefusedReason } from './transient-errors';

export interface WriteAloneOptions<T> {
  /** A row that failed on its own with an error that is not transient: it is dropped, and told here. */
  rejected(row: T, error: unknown): void | Promise<void>;
  /**
   * The database refuses every write (its disk is full, or it is read-only): the rows are dropped
   * whole and told here, without splitting the batch, since each row alone would be refused too.
   */
  refused(rows: readonly T[], reason: WritesRefusedReason, error: unknown): void | Promise<void>;
  /** A transient error was retried (for counters). */
  retried?(error: unknown): void;
  /** True once retrying should end (shutdown); the transient error is then thrown. */
  stopping?(): boolean;
  wait?(ms: number): Promise<unknown>;
  /**
   * Asked before rows are written again after a transient error: true when that error came after
   * the commit (a connection cut before the reply), so the rows are stored and must not be written
   * twice. Without it a retry after such a cut can store a batch twice.
   */
  alreadyWritten?(rows: readonly T[]): Promise<boolean>;
}

/**
 * Writes a batch so that it fails row by row, never whole (issue 13): a transient error
 * (`isTransientDbError`) retries the same rows with backoff; any other error splits the batch
 * in halves, each written the same way, until the rows that fail alone are found and dropped.
 * One bad row in 1,000 costs about 2·log2(1000) ≈ 20 extra statements; the rest is stored.
 * A database that refuses all writes (`writesRefusedReason`) drops the batch whole at once
 * (`refused`): bisecting it cost 2,000 statements and 1,000 log lines for 1,000 rows, each told
 * to its device as a refused row of a batch whose rest was stored.
 * `write` must be all-or-nothing (one statement, or one transaction).
 */
export async function writeAlone<T>(
  rows: readonly T[],
  write: (rows: readonly T[]) => Promise<unknown>,
  options: WriteAloneOptions<T>,
): Promise<void> {
  const wait = options.wait ?? ((ms: number) => sleep(ms));
  for (let attempt = 0; rows.length > 0; attempt++) {
    try {
      if (attempt > 0 && (await options.alreadyWritten?.(rows))) return;
      await write(rows);
      return;
    } catch (error) {
      if (isTransientDbError(error)) {
        if (options.stopping?.()) throw error;
        options.retried?.(error);
        await wait(backoffMs(attempt));
        continue;
      }
      const refused = writesRefusedReason(error);
      if (refused) {
        await options.refused(rows, refused, error);
        return;
      }
      if (rows.length === 1) {
        await options.rejected(rows[0]!, error);
        return;
      }
      const half = Math.ceil(rows.length / 2);
      await writeAlone(rows.slice(0, half), write, options);
      await writeAlone(rows.slice(half), write, options);
      return;
    }
  }
}

/**
 * `retryTransient` for at most `ms` from now; past it the transient error is thrown, which an API
 * request answers with 503 (ApiExceptionFilter) instead of waiting on a database that is gone.
 */
export function retryTransientWithin<R>(ms: number, operation: () => Promise<R>): Promise<R> {
  const deadline = Date.now() + ms;
  return retryTransient(operation, { stopping: () => Date.now() > deadline });
}

/**
 * `operation` again, with backoff, while it fails with a transient error (`isTransientDbError`);
 * any other error is thrown at once. For the single statements behind a device's messages
 * (presence, a desired-state request), which a pool timeout under load would otherwise lose.
 */
export async function retryTransient<R>(
  operation: () => Promise<R>,
  options: Pick<WriteAloneOptions<never>, 'retried' | 'stopping' | 'wait'> = {},
): Promise<R> {
  const wait = options.wait ?? ((ms: number) => sleep(ms));
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!isTransientDbError(error) || options.stopping?.()) throw error;
      options.retried?.(error);
      await wait(backoffMs(attempt));
    }
  }
}
