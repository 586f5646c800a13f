/**
 * How a coalesced write recognises a value that changes nothing: `key` names what the value is
 * written to (a device), `fingerprint` what it writes there (a presence flag, a hash of a report).
 */
export interface UnchangedSkip<T> {
  key(value: T): string;
  fingerprint(value: T): string | number | boolean;
  /** A value waiting for its flush taken over by a later one of its key: what is written instead (default: the later one). */
  merge?(older: T, newer: T): T;
}

/** The spacing of the device writers (presence, last seen, reports); see `CoalescedWritesOptions.spacingMs`. */
export const DEVICE_WRITE_SPACING_MS = 25;

export interface CoalescedWritesOptions<T> {
  skip?: UnchangedSkip<T>;
  /**
   * At least this long (ms) from the start of one flush to the start of the next: a value added
   * after a quiet spell is written at once, one added in a burst waits up to this long and joins
   * the values of that wait. Without it a burst's batches are as small as the database is quick:
   * a 2,000-device connect storm wrote its presence and reports in 2,735 statements, about one
   * per device (issue 15).
   */
  spacingMs?: number;
  now?: () => number;
}

/**
 * Writes coalesced: values added while a flush is in flight (or waiting out `spacingMs`) go
 * together into the next one, so a burst from 10,000 devices costs a few statements instead of
 * one per message and does not exhaust the connection pool. Each caller's promise settles with
 * the flush that carried its value (and its result); flushes run one at a time, in order, so a
 * later value is never overwritten by an earlier one. The flush gets the values in the order
 * they were added.
 *
 * With `skip`, a value equal to the one last stored for its key, with nothing else for that key
 * queued or in flight, is not written at all (it resolves with `undefined` at once): a
 * reconnecting fleet that reports what it reported before costs no write. What was stored is
 * remembered only after its flush succeeded; a failed flush forgets its keys, and so does one
 * that dropped a value (`notStored`: a row refused, a database refusing writes), so the next
 * value is written whatever it is.
 *
 * With `skip` too, a value whose key already has one waiting (not yet in flight) takes its place
 * (`merge`): what waits is at most one value per key, however long the database is away (a report
 * a minute from 10,000 devices over an hour's outage held 600,000 reports before).
 */
export class CoalescedWrites<T, R = void> {
  private pending: T[] = [];
  private next: Promise<R> | undefined;
  private flushing: Promise<unknown> = Promise.resolve();
  /** Values queued or in flight, per key (only with `skip`). */
  private readonly unsettled = new Map<string, number>();
  private readonly stored = new Map<string, string | number | boolean>();
  /** Where each key's waiting value is in `pending` (only with `skip`). */
  private readonly pendingAt = new Map<string, number>();
  /** Keys the flush in flight dropped (`notStored`); flushes run one at a time. */
  private readonly dropped = new Set<string>();
  private inFlight = 0;
  /** When the oldest value waiting, and the oldest of the flush in flight, were added (`now`). */
  private pendingSince: number | undefined;
  private inFlightSince: number | undefined;
  private lastFlushAt = -Infinity;
  private readonly skip: UnchangedSkip<T> | undefined;
  private readonly spacingMs: number;
  private readonly now: () => number;
  /** Values not written because they changed nothing (for `/metrics` and tests). */
  skipped = 0;
  /** Values that took the place of an earlier one of their key still waiting (for tests). */
  merged = 0;

  constructor(
    private readonly flush: (batch: readonly T[]) => Promise<R>,
    options: CoalescedWritesOptions<T> = {},
  ) {
    this.skip = options.skip;
    this.spacingMs = options.spacingMs ?? 0;
    this.now = options.now ?? (() => performance.now());
  }

  /** Values waiting for a flush or being flushed: the write backlog the broker's "busy" decision watches. */
  get queued(): number {
    return this.pending.length + this.inFlight;
  }

  /**
   * How long the oldest value queued or in flight has waited (ms), 0 when none is: how far the
   * database is behind, whatever the size of the batches (the broker's "busy" decision).
   */
  get lagMs(): number {
    const since = this.inFlightSince ?? this.pendingSince;
    return since === undefined ? 0 : this.now() - since;
  }

  add(value: T): Promise<R | undefined> {
    const skip = this.skip;
    if (skip) {
      const key = skip.key(value);
      if (!this.unsettled.has(key) && this.stored.get(key) === skip.fingerprint(value)) {
        this.skipped++;
        return Promise.resolve(undefined);
      }
      const at = this.pendingAt.get(key);
      if (at !== undefined) {
        const older = this.pending[at]!;
        this.pending[at] = skip.merge ? skip.merge(older, value) : value;
        this.merged++;
        // A value waits, so its flush is scheduled: this caller settles with it.
        return this.next!;
      }
      this.unsettled.set(key, (this.unsettled.get(key) ?? 0) + 1);
      this.pendingAt.set(key, this.pending.length);
    }
    if (this.pending.length === 0) this.pendingSince = this.now();
    this.pending.push(value);
    if (!this.next) {
      this.next = this.flushing.then(async () => {
        const wait = this.lastFlushAt + this.spacingMs - this.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        this.lastFlushAt = this.now();
        this.next = undefined;
        const batch = this.pending;
        this.pending = [];
        this.pendingAt.clear();
        this.inFlight = batch.length;
        this.inFlightSince = this.pendingSince;
        this.pendingSince = undefined;
        try {
          const result = await this.flush(batch);
          this.settled(batch, true);
          return result;
        } catch (e) {
          this.settled(batch, false);
          throw e;
        } finally {
          this.inFlight = 0;
          this.inFlightSince = undefined;
        }
      });
      this.flushing = this.next.catch(() => undefined);
    }
    return this.next;
  }

  /**
   * Called by the flush in flight for a value it did not store though the flush as a whole
   * succeeded: the key is not remembered as stored, so the same value sent again is written,
   * not skipped as unchanged (a device repeats its report only when it changes).
   */
  notStored(key: string): void {
    this.dropped.add(key);
  }

  /** Forgets what was stored for `key` (its row changed by another path): the next value is written. */
  forget(key: string): void {
    this.stored.delete(key);
  }

  private settled(batch: readonly T[], ok: boolean): void {
    const skip = this.skip;
    if (!skip) return;
    for (const value of batch) {
      const key = skip.key(value);
      const left = (this.unsettled.get(key) ?? 1) - 1;
      if (left > 0) this.unsettled.set(key, left);
      else this.unsettled.delete(key);
      if (ok && !this.dropped.has(key)) this.stored.set(key, skip.fingerprint(value));
      else this.stored.delete(key);
    }
    this.dropped.clear();
  }
}
