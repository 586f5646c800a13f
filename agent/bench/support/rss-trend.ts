import { median } from '../../../test/bench/machine';

export interface RssSample {
  atMs: number;
  rssKb: number;
  anonKb: number;
}

export interface RssTrend {
  firstMb: number;
  lastMb: number;
  /** Median of the last window minus median of the first window after the warm-up. */
  growthMb: number;
  anonGrowthMb: number;
  maxMb: number;
  /** Least-squares slope of RSS after the warm-up. */
  slopeMbPerHour: number;
}

/**
 * Whether RSS grows after the warm-up. RSS breathes with every garbage collection and every
 * update, so single samples are compared by window medians: the first and the last sixth of
 * the time after the warm-up (at most 10 minutes each), which a leak moves and a GC cycle does not.
 */
export function rssTrend(samples: readonly RssSample[], warmupMs: number): RssTrend {
  const after = samples.filter((s) => s.atMs >= warmupMs);
  if (after.length < 2) throw new Error(`too few samples after the warm-up (${after.length}): run longer`);
  const span = after[after.length - 1]!.atMs - after[0]!.atMs;
  const window = Math.min(span / 6, 10 * 60_000);
  const first = after.filter((s) => s.atMs <= after[0]!.atMs + window);
  const last = after.filter((s) => s.atMs >= after[after.length - 1]!.atMs - window);
  const mb = (kb: number) => kb / 1024;
  const n = after.length;
  const mx = after.reduce((a, s) => a + s.atMs, 0) / n;
  const my = after.reduce((a, s) => a + s.rssKb, 0) / n;
  const cov = after.reduce((a, s) => a + (s.atMs - mx) * (s.rssKb - my), 0);
  const varx = after.reduce((a, s) => a + (s.atMs - mx) ** 2, 0);
  const firstMb = mb(median(first.map((s) => s.rssKb)));
  const lastMb = mb(median(last.map((s) => s.rssKb)));
  return {
    firstMb,
    lastMb,
    growthMb: lastMb - firstMb,
    anonGrowthMb: mb(median(last.map((s) => s.anonKb)) - median(first.map((s) => s.anonKb))),
    maxMb: mb(Math.max(...after.map((s) => s.rssKb))),
    slopeMbPerHour: varx === 0 ? 0 : mb((cov / varx) * 3_600_000),
  };
}
