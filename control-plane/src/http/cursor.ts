import { InvalidInputError } from '../domain-error';

/**
 * Opaque list cursors: the sort key of the last item returned, as base64url JSON. Keyset
 * pagination (`WHERE (created_at, id) < (…)`) stays fast and stable at any depth.
 */
export function encodeCursor(position: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/** `valid` checks the position's values, so a forged cursor is a 400 and never reaches SQL as a bad timestamp. */
export function decodeCursor(
  cursor: string | undefined,
  arity: number,
  valid: (position: readonly (string | number)[]) => boolean = () => true,
): (string | number)[] | undefined {
  if (cursor === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === arity &&
      value.every((v) => typeof v === 'string' || typeof v === 'number') &&
      valid(value as (string | number)[])
    ) {
      return value as (string | number)[];
    }
  } catch {
    // Falls through to the error below: a cursor is only ever one this API handed out.
  }
  throw new InvalidInputError('invalid_cursor', 'the cursor is not one this list returned; start again without it', [
    { path: 'cursor', message: 'unknown cursor' },
  ]);
}
