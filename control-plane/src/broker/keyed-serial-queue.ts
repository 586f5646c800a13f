/**
 * Runs tasks one after another per key and concurrently across keys. The broker hands the
 * control plane each device's messages in order; running that device's database writes in
 * the same order keeps, say, an older `reported` from overwriting a newer one.
 */
export class KeyedSerialQueue {
  private readonly tails = new Map<string, Promise<void>>();

  /** `onError` sees a failed task; the key's later tasks still run. */
  constructor(private readonly onError: (key: string, error: unknown) => void) {}

  run(key: string, task: () => Promise<unknown>): Promise<void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(task).then(
      () => undefined,
      (error: unknown) => this.onError(key, error),
    );
    this.tails.set(key, next);
    void next.then(() => {
      if (this.tails.get(key) === next) this.tails.delete(key);
    });
    return next;
  }

  get pendingKeys(): number {
    return this.tails.size;
  }

  /** Resolves once every task queued so far, and any queued meanwhile, has finished. */
  async drain(): Promise<void> {
    while (this.tails.size > 0) await Promise.all(this.tails.values());
  }
}
