/** How often the engine looks at rollouts in motion, besides when devices report. */
export interface RolloutSettings {
  tickMs: number;
  /**
   * How long a replica's claim on a rollout lasts without renewal (each pass renews it): the
   * longest another replica waits before it takes over from one that died. Several ticks long.
   */
  leaseMs: number;
  /** Wait after a device report before a pass, so a burst of reports makes one pass. */
  reportDebounceMs: number;
  /**
   * Assignments written per transaction, each segment in its own: the first devices are told once
   * the first segment committed, not after all of a 10,000-device phase (one statement for 10,000
   * took 3.8 s of a 7.3 s pass under load, control-plane/bench/rollout.bench.ts). The first holds
   * `first` (two seal batches: the first devices are told after a write of 128 rows, and their
   * publishing overlaps the next), each next one twice as many up to `max`: larger segments cost
   * fewer round trips, each of which waits for a turn of the busy event loop during a fan-out:
   * capped at 1,024, 10,000 devices took 12.7–13.0 s to commit instead of 2.4–3.1 s (issue 15,
   * session 9), so they grow to 4,096. Tests make them small.
   */
  assignSegments: { first: number; max: number };
}

export const ROLLOUT_SETTINGS = Symbol('RolloutSettings');
export const DEFAULT_ROLLOUT_SETTINGS: RolloutSettings = {
  tickMs: 2000,
  leaseMs: 10_000,
  reportDebounceMs: 150,
  assignSegments: { first: 128, max: 4096 },
};

/** Time for the engine; a provider so that tests of the service layer may fix it. */
export interface Clock {
  now(): number;
}
export const CLOCK = Symbol('Clock');
export const SYSTEM_CLOCK: Clock = { now: () => Date.now() };
