import { isStorableText } from '../protocol/storable';

/** Why `pathOfUnstorable` named a path: both causes, since the walk does not tell them apart. */
export const UNSTORABLE_TEXT_MESSAGE = 'NUL (\\u0000) or an unpaired UTF-16 surrogate (\\ud800-\\udfff) cannot be stored';

/** One value met by the walk: its parent's visit and the key under which the parent holds it. */
interface Visit {
  v: unknown;
  parent: Visit | undefined;
  key: string;
}

/**
 * The dotted path of the first string, key or value, that PostgreSQL cannot store as it is
 * (`isStorableText`): U+0000, which text and jsonb refuse, or a UTF-16 surrogate that is not part
 * of a pair, which jsonb refuses and text turns into U+FFFD (so a stored secret or name would
 * differ from what was sent); undefined when there is none. Iterative, so any depth is safe,
 * and linear in the size of the value: a visit links to its parent instead of copying the path
 * (a copy per level made a 40 KB body nested 20,000 deep cost 2·10⁸ steps, seconds of a blocked
 * event loop), and the path is spelt out only for the value found.
 */
export function pathOfUnstorable(value: unknown): string | undefined {
  const stack: Visit[] = [{ v: value, parent: undefined, key: '' }];
  while (stack.length > 0) {
    const visit = stack.pop()!;
    if (typeof visit.v === 'string' && !isStorableText(visit.v)) return dottedPath(visit);
    if (typeof visit.v !== 'object' || visit.v === null) continue;
    for (const [key, child] of Object.entries(visit.v)) {
      const next: Visit = { v: child, parent: visit, key };
      if (!isStorableText(key)) return dottedPath(next);
      stack.push(next);
    }
  }
  return undefined;
}

function dottedPath(visit: Visit): string {
  const keys: string[] = [];
  for (let at: Visit | undefined = visit; at?.parent !== undefined; at = at.parent) keys.push(at.key);
  return keys.reverse().join('.');
}
