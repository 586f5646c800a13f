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
}

export const ROLLOUT_SETTINGS = Symbol('RolloutSettings');
export const DEFAULT_ROLLOUT_SETTINGS: RolloutSettings = { tickMs: 2000, leaseMs: 10_000, reportDebounceMs: 150 };

/** Time for the engine; a provider so that tests of the service layer may fix it. */
export interface Clock {
  now(): number;
}
export const CLOCK = Symbol('Clock');
export const SYSTEM_CLOCK: Clock = { now: () => Date.now() };
