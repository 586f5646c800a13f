import type { DeviceChannel } from '@flotilla/shared';

/**
 * What devices send in answer to a desired state: their progress through the update (`reported`)
 * and its outcome (`events`). Held while a fan-out is publishing; everything else (`desired/get`,
 * which a device waits on, telemetry, inventory, status) is handled as it comes.
 */
export const HELD_CHANNELS: ReadonlySet<DeviceChannel> = new Set<DeviceChannel>(['reported', 'events']);

export interface HoldLimits {
  /** Messages held at most: at the next one, everything held is handed on first. */
  messages: number;
  /** Payload bytes held at most, likewise. */
  bytes: number;
  /** The oldest message held waits no longer than this, however long the fan-out lasts. */
  maxHoldMs: number;
}

/**
 * A 10,000-device fan-out's answers are ~30,000 messages of ~0.5 KB; a device's report may reach
 * the packet cap, so the bytes bound is the one that binds memory. A fan-out of 10,000 lasts
 * 3–6 s on two shared cores (control-plane/bench/rollout.bench.ts).
 */
export const HOLD_LIMITS: HoldLimits = { messages: 50_000, bytes: 32 * 2 ** 20, maxHoldMs: 5_000 };

interface Held<T> {
  message: T;
  bytes: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Device answers kept, in arrival order, while a fan-out publishes, and handed on (`handle`) all
 * at once when it has drained (`release`), when a bound is reached, or `maxHoldMs` after the
 * first was held. Why: during a 10,000-device fan-out on two cores, handling the answers of the
 * devices already told (decoding, validating, writing their reports) takes CPU from telling the
 * rest; handled after, the fan-out ends sooner (BENCHMARKS.md, "Issue 15 item 3, session 15").
 * Arrival order is kept across releases, so a device's reports are written in the order sent.
 * `hold` settles once the message was handled, as the router's `route` does for one not held.
 */
export class HeldAnswers<T extends { payload: Buffer }> {
  private held: Held<T>[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly handle: (message: T) => Promise<void>,
    /** Each release, with the number of messages it handed on (for /metrics). */
    private readonly released: (count: number) => void = () => undefined,
    private readonly limits: HoldLimits = HOLD_LIMITS,
  ) {}

  get size(): number {
    return this.held.length;
  }

  hold(message: T): Promise<void> {
    const bytes = message.payload.length;
    if (this.held.length + 1 > this.limits.messages || this.bytes + bytes > this.limits.bytes) this.release();
    return new Promise<void>((resolve, reject) => {
      this.held.push({ message, bytes, resolve, reject });
      this.bytes += bytes;
      if (!this.timer) {
        this.timer = setTimeout(() => this.release(), this.limits.maxHoldMs);
        this.timer.unref();
      }
    });
  }

  /** Hands on everything held, in arrival order. */
  release(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const held = this.held;
    if (held.length === 0) return;
    this.held = [];
    this.bytes = 0;
    this.released(held.length);
    for (const { message, resolve, reject } of held) {
      // Called now, not in a later turn: the router's `drain` counts on the handling having begun.
      let handled: Promise<void>;
      try {
        handled = this.handle(message);
      } catch (e) {
        handled = Promise.reject(e);
      }
      handled.then(resolve, reject);
    }
  }
}
