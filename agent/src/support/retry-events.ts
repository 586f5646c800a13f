/**
 * A retried step's failures as device events, without a flood: a write or download retried every
 * 30 s for a day would otherwise send 2,880 events, each stored by the control plane and counted
 * against the device's quota. The first failure of a target is told at once; later ones at most
 * every `everyMs`, saying how many attempts failed since. A success or a new target starts over.
 */
export const RETRY_EVENT_EVERY_MS = 10 * 60_000;

export class RetryEvents {
  private target: string | null = null;
  private toldAt = -Infinity;
  private untold = 0;

  constructor(
    private readonly now: () => number,
    private readonly everyMs: number = RETRY_EVENT_EVERY_MS,
  ) {}

  /**
   * A failed attempt on `target`: the text to append to its event ("" for the first failure,
   * " (N attempts failed since the last event)" later), or undefined when it stays quiet.
   */
  failed(target: string): string | undefined {
    if (target !== this.target) this.reset(target);
    this.untold++;
    const now = this.now();
    if (now - this.toldAt < this.everyMs) return undefined;
    const first = this.toldAt === -Infinity;
    const note = first ? '' : ` (${this.untold} attempts failed since the last event)`;
    this.toldAt = now;
    this.untold = 0;
    return note;
  }

  /** The step succeeded or ended: the next failure is a first one again. */
  reset(target: string | null = null): void {
    this.target = target;
    this.toldAt = -Infinity;
    this.untold = 0;
  }
}
