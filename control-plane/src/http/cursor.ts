import { isValidDeviceId } from '@flotilla/shared';
import { InvalidInputError } from '../domain-error';

/**
 * Opaque list cursors: the sort key of the last item returned, as base64url JSON. Keyset
 * pagination (`WHERE (created_at, id) < (…)`) stays fast and stable at any depth.
 */
export function encodeCursor(position: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/** The column type of each value of a position, checked so that a forged cursor never reaches SQL as a bad value. */
export type CursorField = 'timestamp' | 'uuid' | 'deviceId' | 'bigint';

// Every `timestamptz`, 4713 BC to 294276 AD (a device list cursor may hold either end, issue 13).
const TIMESTAMP = /^\d{4,6}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z( BC)?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BIGINT = /^[1-9]\d{0,18}$/;
const MAX_BIGINT = 2n ** 63n - 1n;

const VALID: Record<CursorField, (v: unknown) => boolean> = {
  // Date.parse checks the rest of the calendar; it cannot read five- or six-digit years or an era, so it sees year 2000.
  timestamp: (v) => typeof v === 'string' && TIMESTAMP.test(v) && !Number.isNaN(Date.parse(v.replace(/^\d+/, '2000').replace(/ BC$/, ''))),
  uuid: (v) => typeof v === 'string' && UUID.test(v),
  deviceId: (v) => typeof v === 'string' && isValidDeviceId(v),
  bigint: (v) => typeof v === 'string' && BIGINT.test(v) && BigInt(v) <= MAX_BIGINT,
};

/** The position a cursor names, typed as `fields` says; a 400 for anything this API did not hand out. */
export function decodeCursor(cursor: string | undefined, fields: readonly CursorField[]): string[] | undefined {
  if (cursor === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    // Falls through to the error below: a cursor is only ever one this API handed out.
  }
  if (Array.isArray(value) && value.length === fields.length && fields.every((f, i) => VALID[f](value[i]))) {
    return value as string[];
  }
  throw new InvalidInputError('invalid_cursor', 'the cursor is not one this list returned; start again without it', [
    { path: 'cursor', message: 'unknown cursor' },
  ]);
}
