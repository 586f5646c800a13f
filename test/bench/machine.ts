import { cpus, totalmem } from 'node:os';

/** One line saying what the figures were measured on; every benchmark prints it. */
export function machineLine(): string {
  const cpu = cpus();
  return `machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown cpu'}, ${(totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, Node ${process.version}, ${process.platform}/${process.arch}`;
}

/** A fixed-width table for benchmark output. */
export function printTable(rows: Array<Record<string, string | number>>): void {
  if (rows.length === 0) return;
  const headers = Object.keys(rows[0]!);
  const cell = (v: string | number | undefined) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : (v ?? ''));
  const widths = headers.map((h) => Math.max(h.length, ...rows.map((r) => cell(r[h]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ');
  console.log(line(headers));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(headers.map((h) => cell(r[h]))));
}

/** The middle value, or the mean of the two middle ones (for the median of a few runs or pairs). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * A distribution-free interval for the median of `values` (order statistics, the binomial
 * rule): the narrowest [k-th smallest, k-th largest] that holds the true median with at least
 * `confidence`, and the confidence it actually has. With fewer than 6 values none reaches 95 %:
 * the whole range is given with its own (lower) confidence, 0 for a single value. Printed
 * beside a benchmark's median of pairs, so that two sittings are compared by their intervals,
 * not by their medians alone (BENCHMARKS.md, "session 19": the same code gave medians 0.14
 * apart over 9 pairs).
 */
export function medianInterval(values: readonly number[], confidence = 0.95): { low: number; high: number; confidence: number } {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return { low: NaN, high: NaN, confidence: 0 };
  // below[j]: P(Binomial(n, 1/2) <= j), the chance that at most j values fall under the median.
  const below: number[] = [];
  let term = 0.5 ** n;
  let sum = 0;
  for (let j = 0; j < n; j++) {
    sum += term;
    below.push(sum);
    term = (term * (n - j)) / (j + 1);
  }
  // [s[k-1], s[n-k]] misses the median only if fewer than k values fall on one side of it.
  const coverage = (k: number): number => 1 - 2 * below[k - 1]!;
  let k = 1;
  while (k + 1 <= Math.floor((n + 1) / 2) && coverage(k + 1) >= confidence) k++;
  return { low: s[k - 1]!, high: s[n - k]!, confidence: coverage(k) };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * Runs a benchmark's `main` and exits: 0 when it finished, 1 with the error otherwise.
 * Exiting explicitly ends what the benchmark left open (simulated sockets, child processes).
 */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : err);
      process.exit(1);
    },
  );
}
