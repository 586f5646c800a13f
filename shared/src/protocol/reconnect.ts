import { SERVER_BUSY } from './server-busy';

/**
 * How a device paces its connects to the control plane: the agent (agent/src/link) and the
 * simulator that stands in for it (cli/src/sim) both take their delays from here, so
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
  /** The control plane refused the connect as busy (CONNACK 3, server-busy.ts). */
  | { kind: 'busy' };

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
 * [0, 1) (Math.random on a device; fixed in tests). After a busy refusal the device waits the
 * documented busy delay (SERVER_BUSY: at least retryAfterMs, spread over jitterMs) or its own
 * backoff, whichever is longer.
 */
export function nextReconnect(policy: ReconnectPolicy, failures: number, outcome: LinkOutcome, random: number): ReconnectStep {
  const jitter = (windowMs: number) => Math.floor(clampUnit(random) * windowMs);
  if (outcome.kind === 'dropped' && outcome.upMs >= policy.stableMs) return { failures: 1, delayMs: jitter(policy.baseMs) };
  const next = failures + 1;
  const windowMs = backoffWindowMs(policy, next);
  const backoff = jitter(windowMs);
  if (outcome.kind === 'busy')
    return { failures: next, delayMs: Math.max(SERVER_BUSY.retryAfterMs + jitter(SERVER_BUSY.jitterMs), backoff) };
  return { failures: next, delayMs: backoff };
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
  private busy = false;

  constructor(
    private readonly policy: ReconnectPolicy,
    private readonly random: () => number,
  ) {}

  /** CONNACK 0. */
  connected(nowMs: number): void {
    this.connectedAtMs = nowMs;
  }

  /** CONNACK 3: the control plane is busy (server-busy.ts). */
  serverBusy(): void {
    this.busy = true;
  }

  /** The attempt or the connection is over: the delay before the next connect. */
  closed(nowMs: number): number {
    const outcome: LinkOutcome = this.busy
      ? { kind: 'busy' }
      : this.connectedAtMs !== undefined
        ? { kind: 'dropped', upMs: nowMs - this.connectedAtMs }
        : { kind: 'failed' };
    const step = nextReconnect(this.policy, this.failures, outcome, this.random());
    this.failures = step.failures;
    this.connectedAtMs = undefined;
    this.busy = false;
    return step.delayMs;
  }
}
