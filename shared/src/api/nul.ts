/** One value met by the walk: its parent's visit and the key under which the parent holds it. */
interface Visit {
  v: unknown;
  parent: Visit | undefined;
  key: string;
}

/**
 * The dotted path of the first string, key or value, that holds U+0000, which PostgreSQL
 * refuses in text and jsonb; undefined when there is none. Iterative, so any depth is safe,
 * and linear in the size of the value: a visit links to its parent instead of copying the path
 * (a copy per level made a 40 KB body nested 20,000 deep cost 2·10⁸ steps, seconds of a blocked
 * event loop), and the path is spelt out only for the value found.
 */
export function pathOfNul(value: unknown): string | undefined {
  const stack: Visit[] = [{ v: value, parent: undefined, key: '' }];
  while (stack.length > 0) {
    const visit = stack.pop()!;
    if (typeof visit.v === 'string' && visit.v.includes('\0')) return dottedPath(visit);
    if (typeof visit.v !== 'object' || visit.v === null) continue;
    for (const [key, child] of Object.entries(visit.v)) {
      const next: Visit = { v: child, parent: visit, key };
      if (key.includes('\0')) return dottedPath(next);
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
