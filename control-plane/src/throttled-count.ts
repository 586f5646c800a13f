/**
 * How often something that keeps failing the same way is said: the first time at once, later
 * at most once every `everyMs`, with how many happened since it was last said. The rule of the
 * control plane's "still failing" log lines (a loop's database outage, writes the database refuses,
 * device events dropped), instead of one line per failure for the length of an outage. Pure: the
 * caller says what and where.
 */
export class ThrottledCount {
  private toldAt = -Infinity;
  private untold = 0;

  constructor(
    private readonly everyMs: number,
    private readonly now: () => number,
  ) {}

  /** Counts `n` more: the count to tell now (the first at once), or undefined while the interval runs. */
  add(n = 1): number | undefined {
    this.untold += n;
    return this.due();
  }

  /** The count not yet told, once the interval since the last telling has passed; undefined otherwise or when there is none. */
  due(): number | undefined {
    if (this.untold === 0) return undefined;
    const now = this.now();
    if (now - this.toldAt < this.everyMs) return undefined;
    const told = this.untold;
    this.toldAt = now;
    this.untold = 0;
    return told;
  }

  /** The failures ended: the next one is told at once. */
  reset(): void {
    this.toldAt = -Infinity;
    this.untold = 0;
  }
}
