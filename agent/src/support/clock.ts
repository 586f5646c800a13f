/** Time as the agent sees it; injected so loops, timeouts and backoff are testable without waiting. */
export interface Clock {
  now(): Date;
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/**
 * Milliseconds on a monotonic clock (CLOCK_MONOTONIC), for measuring how long something lasted.
 * Not `performance.now()`: the global's first use loads perf_hooks and eight more of Node's
 * modules, which stay resident in the idle agent (BENCHMARKS.md "agent").
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1_000n) / 1_000;
}

/** Exponential backoff with a cap: attempt 0 waits `baseMs`, each next one twice as long. */
export function backoffMs(attempt: number, baseMs = 1_000, capMs = 60_000): number {
  return Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
}
