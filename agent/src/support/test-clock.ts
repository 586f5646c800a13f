import type { Clock } from './clock';

/** A clock for tests: `sleep` returns at once and advances time, and records what was asked. */
export function instantClock(start = new Date('2026-11-27T12:00:00Z')): Clock & { slept: number[] } {
  let now = start.getTime();
  const slept: number[] = [];
  return {
    slept,
    now: () => new Date(now),
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}
