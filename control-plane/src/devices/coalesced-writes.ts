/**
 * Writes coalesced: values added while a flush is in flight go together into the next one, so a
 * burst from 10,000 devices costs a few statements instead of one per message and does not
 * exhaust the connection pool. Each caller's promise settles with the flush that carried its
 * value; flushes run one at a time, in order, so a later value is never overwritten by an
 * earlier one. The flush gets the values in the order they were added.
 */
export class CoalescedWrites<T> {
  private pending: T[] = [];
  private next: Promise<void> | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly flush: (batch: readonly T[]) => Promise<void>) {}

  add(value: T): Promise<void> {
    this.pending.push(value);
    if (!this.next) {
      this.next = this.flushing.then(async () => {
        this.next = undefined;
        const batch = this.pending;
        this.pending = [];
        await this.flush(batch);
      });
      this.flushing = this.next.catch(() => undefined);
    }
    return this.next;
  }
}
