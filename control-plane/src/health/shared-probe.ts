/**
 * A check that costs the database, behind routes anyone may call (`/healthz`, `/readyz`): one run
 * at a time, its answer shared with every caller that asks while it runs and for `reuseMs` after,
 * and a caller waits at most `waitMs` (then gets `late`) while the run goes on. So a flood of
 * probes holds at most one connection of the pool per check, and a stalled database makes them
 * answer in time instead of piling up behind it and taking the pool from the devices' writes.
 */
export class SharedProbe<T> {
  private running: Promise<T> | undefined;
  private last: { value: T; at: number } | undefined;

  constructor(
    private readonly run: () => Promise<T>,
    private readonly options: { reuseMs: number; waitMs: number; late: T; now?: () => number },
  ) {}

  get(): Promise<T> {
    const now = this.options.now ?? (() => performance.now());
    if (this.last && now() - this.last.at < this.options.reuseMs) return Promise.resolve(this.last.value);
    this.running ??= this.run()
      .then((value) => {
        this.last = { value, at: now() };
        return value;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.within(this.running);
  }

  private within(running: Promise<T>): Promise<T> {
    const { waitMs, late } = this.options;
    return new Promise<T>((resolve) => {
      const timer = setTimeout(() => resolve(late), waitMs);
      running.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        () => {
          clearTimeout(timer);
          resolve(late);
        },
      );
    });
  }
}
