/**
 * How soon the rollout engine may run a pass that device reports (or its timer) asked for. A pass
 * reads every device of each rollout in motion; during a fan-out reports arrive without pause, and
 * passes run back to back took a large share of the CPU that the publishing and the devices'
 * answers need (control-plane/bench/rollout.bench.ts). So after a pass, the next one rests at
 * least `REST_PER_PASS` times what that pass spent deciding and writing (its publishing overlaps
 * them and is not counted): the engine's reads take at most about half of the time, and a small
 * fleet's pass (milliseconds) rests no longer than the debounce.
 */
export const REST_PER_PASS = 1;
/** A pass slowed by a stalled database (a lock, a failover) holds the next one back no longer than this. */
export const MAX_REST_MS = 5_000;

/** The earliest time of the next report-driven pass, for a pass that ended at `endedAt`. */
export function restUntil(endedAt: number, decidingMs: number): number {
  return endedAt + Math.min(MAX_REST_MS, REST_PER_PASS * Math.max(0, decidingMs));
}

/** The delay of a pass asked for at `now`: the debounce, or longer while the last pass's rest lasts. */
export function kickDelay(now: number, debounceMs: number, rest: number): number {
  return Math.max(debounceMs, rest - now);
}
