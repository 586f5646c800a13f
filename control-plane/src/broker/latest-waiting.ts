import type { KeyedSerialQueue } from './keyed-serial-queue';

/**
 * At most one task per device waiting in its queue (KeyedSerialQueue) for one kind of message,
 * carrying the latest value: a value that arrives while the device's earlier one still waits to
 * start takes its place, and its caller settles with that task. For the messages a later one makes
 * obsolete (a report, an inventory): a device's messages are handled one at a time, so while the
 * database is away each one waited behind the one being written, and a report a minute queued up
 * without bound; the writers' own coalescing (CoalescedWrites' `merge`) never saw them. Pure.
 */
export class LatestWaiting<T> {
  private readonly waiting = new Map<string, { value: T; done: Promise<void> }>();
  /** Values that took the place of a waiting one (for tests). */
  replaced = 0;

  constructor(private readonly queue: KeyedSerialQueue) {}

  run(deviceId: string, value: T, task: (value: T) => Promise<unknown>): Promise<void> {
    const waiting = this.waiting.get(deviceId);
    if (waiting) {
      waiting.value = value;
      this.replaced++;
      return waiting.done;
    }
    const entry = { value, done: Promise.resolve() };
    this.waiting.set(deviceId, entry);
    entry.done = this.queue.run(deviceId, () => {
      this.waiting.delete(deviceId);
      return task(entry.value);
    });
    return entry.done;
  }

  /** The device's waiting task keeps its value: later ones queue behind what was queued meanwhile (a connect). */
  seal(deviceId: string): void {
    this.waiting.delete(deviceId);
  }
}
