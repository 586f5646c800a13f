/**
 * How a device paces its connects to the control plane: the agent (agent/src/link) and the
 * simulator that stands in for it (control-plane/src/sim) both take their delays from here, so
 * a simulated fleet storms exactly as a real one would.
 *
 * Exponential backoff with full jitter (each delay uniform in [0, min(cap, base·2^(n-1))) after
 * the n-th failure in a row): a fleet that lost the broker at the same instant spreads its
 * retries over a window that doubles while the server stays away, instead of arriving in the
 * same second again and again as a fixed period makes it.
 */
export interface ReconnectPolicy {
  /** Window of the first retry. */
  baseMs: number;
  /** Largest window: with no busy signal, no device waits longer than this between attempts. */
  capMs: number;
  /** A connection that lasted this long was a success: its loss starts the backoff anew. */
  stableMs: number;
  /** The first connect after the agent starts falls at random within this window (0: at once). */
  bootSpreadMs: number;
}

/**
 * base 1 s: one device that lost its link (a Wi-Fi hiccup) is back within a second.
 * cap 60 s: a fleet whose windows grew to the cap arrives at fleet size / 60 s (50,000 devices:
 * about 830 connects/s, under half of what the broker accepts on the reference box, BENCHMARKS.md
 * "connect"), and no device stays away more than a minute after the server is back.
 * stable 30 s: a server that accepts and drops at once (overloaded, or two devices sharing an id)
 * keeps the backoff growing instead of being hammered every second.
 * boot spread 30 s: a site whose power came back boots all its devices together.
 */
export const DEVICE_RECONNECT_POLICY: ReconnectPolicy = { baseMs: 1_000, capMs: 60_000, stableMs: 30_000, bootSpreadMs: 30_000 };

/** What ended the last connection attempt or connection. */
export type LinkOutcome =
  /** The connect failed (refused socket, TLS, timeout, a CONNACK error other than "busy"). */
  | { kind: 'failed' }
  /** A connection that was up for `upMs` closed. */
  | { kind: 'dropped'; upMs: number }
  /** The control plane said it is busy (`ServerBusy`), with the delay it asked for if any. */
  | { kind: 'busy'; retryAfterMs?: number };

export interface ReconnectStep {
  /** Consecutive failures so far, the input of the next decision. */
  failures: number;
  delayMs: number;
}

/** Upper end of the jitter window after `failures` failures in a row (failures ≥ 1). */
export function backoffWindowMs(policy: ReconnectPolicy, failures: number): number {
  // Past 2^30 the product is far beyond any cap; clamping the exponent keeps it a finite number.
  return Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(30, Math.max(0, failures - 1)));
}

/**
 * The next reconnect, from the failures so far, what just happened and a uniform `random` in
 * [0, 1) (Math.random on a device; fixed in tests). A busy server's delay is honoured as a
 * floor, and the devices it told are spread over [N, 2N) (or the backoff window, if wider) so
 * that they do not all come back at N.
 */
export function nextReconnect(policy: ReconnectPolicy, failures: number, outcome: LinkOutcome, random: number): ReconnectStep {
  const jitter = (windowMs: number) => Math.floor(clampUnit(random) * windowMs);
  if (outcome.kind === 'dropped' && outcome.upMs >= policy.stableMs) return { failures: 1, delayMs: jitter(policy.baseMs) };
  const next = failures + 1;
  const windowMs = backoffWindowMs(policy, next);
  if (outcome.kind === 'busy' && outcome.retryAfterMs !== undefined) {
    const floor = Math.max(0, outcome.retryAfterMs);
    return { failures: next, delayMs: floor + jitter(Math.max(floor, windowMs)) };
  }
  return { failures: next, delayMs: jitter(windowMs) };
}

/**
 * Delay of the first connect after the agent starts, `uptimeMs` after the machine booted: the
 * device's slot is a random point of the boot spread, so an agent restarted long after boot (a
 * crash, a self-update on trial) connects at once and only a fleet booting together is spread.
 */
export function bootConnectDelay(policy: ReconnectPolicy, random: number, uptimeMs: number): number {
  return Math.max(0, Math.floor(clampUnit(random) * policy.bootSpreadMs) - Math.max(0, uptimeMs));
}

function clampUnit(random: number): number {
  return Number.isFinite(random) ? Math.min(Math.max(random, 0), 1 - Number.EPSILON) : 0;
}

/**
 * The schedule of one device's connection, fed with what its MQTT client saw: the agent's link
 * and the simulator's device both drive their client from one of these, and only set the timer.
 * No clock of its own (`nowMs` is passed in) and randomness injected: testable as data.
 */
export class ReconnectSchedule {
  private failures = 0;
  private connectedAtMs: number | undefined;
  private busy: { retryAfterMs?: number } | undefined;

  constructor(
    private readonly policy: ReconnectPolicy,
    private readonly random: () => number,
  ) {}

  /** CONNACK 0. */
  connected(nowMs: number): void {
    this.connectedAtMs = nowMs;
  }

  /** CONNACK 3 (no delay), or a `busy` message with the delay the server asked for. */
  serverBusy(retryAfterMs?: number): void {
    // Two signals for one attempt (a message, then the close's CONNACK error): the delay wins.
    this.busy = retryAfterMs !== undefined ? { retryAfterMs } : (this.busy ?? {});
  }

  /** The attempt or the connection is over: the delay before the next connect. */
  closed(nowMs: number): number {
    const outcome: LinkOutcome = this.busy
      ? { kind: 'busy', ...this.busy }
      : this.connectedAtMs !== undefined
        ? { kind: 'dropped', upMs: nowMs - this.connectedAtMs }
        : { kind: 'failed' };
    const step = nextReconnect(this.policy, this.failures, outcome, this.random());
    this.failures = step.failures;
    this.connectedAtMs = undefined;
    this.busy = undefined;
    return step.delayMs;
  }
}
