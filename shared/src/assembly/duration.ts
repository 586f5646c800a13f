/**
 * Compose-style durations ("1m30s", "10s", "500ms", "2h") to milliseconds.
 * Compose (and Docker's healthcheck) use Go's duration syntax without signs or fractions.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const PART = /(\d+)(ms|s|m|h)/g;

export function parseDuration(text: string): number | undefined {
  if (!/^(\d+(ms|s|m|h))+$/.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) total += Number(amount) * UNIT_MS[unit!]!;
  return total;
}

/** Compose byte sizes ("64m", "1g", "512k", "1024b", plain numbers) to bytes. */
const SIZE_UNIT: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

export function parseByteSize(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isInteger(text) && text > 0 ? text : undefined;
  const m = /^(\d+)\s*([bkmg])?b?$/i.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * SIZE_UNIT[(m[2] ?? 'b').toLowerCase()]!;
}
