import { types } from 'pg';

/** The instants every reader can print as ISO 8601 with a four-digit year. */
const EARLIEST_MS = Date.parse('0000-01-01T00:00:00.000Z');
const LATEST_MS = Date.parse('9999-12-31T23:59:59.999Z');
const TIMESTAMP_OIDS = [types.builtins.TIMESTAMPTZ, types.builtins.TIMESTAMP];

/**
 * `timestamptz` spans 4713 BC to 294276 AD, a JavaScript Date only ±275760 years, and an ISO
 * string with a four-digit year less still: a value past that (left by an older version, a hand
 * edit, a device clock) read as an Invalid Date, whose `toISOString()` threw, and one such row
 * failed every list that held it (issue 13). Read values are clamped into 0000–9999 instead.
 */
export function parseTimestamp(text: string, oid: number = types.builtins.TIMESTAMPTZ): Date {
  // The default parser gives a Date, or ±Infinity for 'infinity' / '-infinity'.
  const parsed = types.getTypeParser(oid, 'text')(text) as Date | number;
  const ms = parsed instanceof Date ? parsed.getTime() : Number(parsed);
  if (Number.isNaN(ms)) return new Date(/^-|BC$/.test(text.trim()) ? EARLIEST_MS : LATEST_MS);
  return new Date(Math.min(LATEST_MS, Math.max(EARLIEST_MS, ms)));
}

/** node-postgres `types` option: the default parsers, with timestamps clamped (`parseTimestamp`). */
export const clampingTypes = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') => {
    if (format !== 'binary' && (TIMESTAMP_OIDS as number[]).includes(oid)) return (text: string) => parseTimestamp(text, oid);
    return types.getTypeParser(oid, format ?? 'text');
  },
};
