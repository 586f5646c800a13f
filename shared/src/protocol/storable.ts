import { z } from 'zod';

/**
 * Bounded building blocks for what a device sends, so that every message the schemas accept
 * can be stored: a value that passes validation but not its column fails the shared batch it
 * lands in (issue 13). The bounds are the columns' (PostgreSQL `integer`, `bigint`, `text`,
 * `jsonb`, `timestamptz`) narrowed to what makes sense for the quantity; a test in the control
 * plane (`storable-columns.int.test.ts`) checks them against the migrated schema.
 */

/** PostgreSQL `integer`. */
export const INT32_MIN = -2_147_483_648;
export const INT32_MAX = 2_147_483_647;
/** PostgreSQL `smallint`. */
export const INT16_MIN = -32_768;
export const INT16_MAX = 32_767;
/** Inside PostgreSQL `bigint` and exact as a JavaScript number, so it also reads back unchanged. */
export const SAFE_BIGINT_MAX = Number.MAX_SAFE_INTEGER;

/** Instants a device may state: `timestamptz` and JavaScript's `Date` both hold far more; ISO output stays 4-digit-year. */
export const TIMESTAMP_MIN_MS = Date.UTC(1970, 0, 1);
export const TIMESTAMP_MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** String lengths, in Unicode code points (what zod 4's `max` and PostgreSQL's `varchar(n)` count). */
export const TEXT_LIMITS = {
  /** Identifiers, names, enum-like words: a hostname, an interface, a board model. */
  name: 256,
  /** An image reference with its digest, a kernel version string, a file system path. */
  ref: 1_024,
  /** A human-readable message or failure; the agent cuts its own at 2,000. */
  message: 8_192,
  /** A command's output (`logs`): what fits a payload (`MAX_PAYLOAD_BYTES`) with the rest of the result. */
  output: 240 * 1024,
} as const;

/**
 * NUL, which neither `text` nor `jsonb` can hold, and UTF-16 surrogates that are not part of a
 * pair: `jsonb` refuses them (`\ud800` escape) and a `text` parameter would turn them into U+FFFD,
 * so the stored text would differ from what was accepted.
 */
// eslint-disable-next-line no-control-regex -- NUL is exactly what is looked for
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when PostgreSQL `text` and `jsonb` store `s` exactly as it is. */
export function isStorableText(s: string): boolean {
  return !UNSTORABLE.test(s);
}

/**
 * `s` made storable for a log line or a message the control plane writes itself: NUL and lone
 * surrogates replaced by U+FFFD, cut to `max` code units (without splitting a pair).
 */
export function toStorableText(s: string, max: number = TEXT_LIMITS.message): string {
  const clean = s.replace(new RegExp(UNSTORABLE.source, 'g'), '\uFFFD');
  if (clean.length <= max) return clean;
  const cut = /[\uD800-\uDBFF]/.test(clean[max - 1] ?? '') ? max - 1 : max;
  return clean.slice(0, cut);
}

/** A string of at most `max` code units that PostgreSQL stores unchanged. */
export const storableString = (max: number) =>
  z.string().max(max).refine(isStorableText, { message: 'contains NUL or an unpaired UTF-16 surrogate, which cannot be stored' });

/** Fits an `integer` column. */
export const int32 = () => z.number().int().min(INT32_MIN).max(INT32_MAX);
/** A desired-state revision: non-negative, an `integer` (`devices.desired_rev`, `device_events.rev`). */
export const revision = () => z.number().int().min(0).max(INT32_MAX);
/** A count of things (images, restarts, cores): non-negative `integer`. */
export const count = () => z.number().int().min(0).max(INT32_MAX);
/** Fits a `bigint` column and reads back exactly: non-negative and at most 2^53 − 1. */
export const safeBigint = () => z.number().int().min(0).max(SAFE_BIGINT_MAX);
/** A size in bytes: non-negative, at most 2^53 − 1 (8 PiB); fractions allowed (rounded where stored as `bigint`). */
export const byteCount = () => z.number().min(0).max(SAFE_BIGINT_MAX);
export const percent = () => z.number().min(0).max(100);
/** Degrees Celsius a board sensor can report: from absolute zero to well past any silicon's limit. */
export const celsius = () => z.number().min(-273.15).max(1_000);
/** A clock speed in GHz. */
export const gigahertz = () => z.number().min(0).max(1_000);

/**
 * PostgreSQL's `timestamptz` input refuses a UTC offset of 16 hours or more ("time zone
 * displacement out of range"), which ISO 8601, zod's `datetime` and `Date.parse` all take (up to
 * ±23:59).
 */
export const MAX_OFFSET_MINUTES = 15 * 60 + 59;
/**
 * PostgreSQL keeps microseconds and rounds finer fractions: the stored instant would differ from the
 * one accepted, and `9999-12-31T23:59:59.9999999Z` would round into the year 10000.
 */
export const MAX_FRACTION_DIGITS = 6;

const OFFSET = /([+-])(\d{2}):(\d{2})$/;
const FRACTION = /\.(\d+)/;

/**
 * Why PostgreSQL would refuse or change the ISO 8601 instant `s`, or null when it stores it exactly
 * and it lies in [1970, 9999] (UTC). For `s` already in the protocol's format (`datetime` with offset).
 */
export function timestampRefusal(s: string): string | null {
  const offset = OFFSET.exec(s);
  if (offset && Number(offset[2]) * 60 + Number(offset[3]) > MAX_OFFSET_MINUTES) {
    return 'UTC offset must lie within ±15:59 (PostgreSQL refuses larger ones)';
  }
  if ((FRACTION.exec(s)?.[1]?.length ?? 0) > MAX_FRACTION_DIGITS) {
    return `at most ${MAX_FRACTION_DIGITS} fraction digits (PostgreSQL keeps microseconds and rounds the rest)`;
  }
  const ms = Date.parse(s);
  if (!(ms >= TIMESTAMP_MIN_MS && ms <= TIMESTAMP_MAX_MS)) return 'must lie between 1970-01-01 and 9999-12-31 (UTC)';
  return null;
}

/**
 * An ISO 8601 instant with offset that PostgreSQL stores as it is: inside [1970, 9999] (UTC), an
 * offset within ±15:59, at most microseconds. Refused rather than canonicalised (a transform):
 * the schemas also describe the API's JSON Schema, where a transform cannot be represented.
 */
export const storableTimestamp = () =>
  z
    .string()
    .datetime({ offset: true })
    .check((ctx) => {
      const reason = timestampRefusal(ctx.value);
      if (reason) ctx.issues.push({ code: 'custom', message: reason, input: ctx.value });
    });
