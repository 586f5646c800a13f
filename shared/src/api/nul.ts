/**
 * The dotted path of the first string, key or value, that holds U+0000, which PostgreSQL
 * refuses in text and jsonb; undefined when there is none. Iterative, so any depth is safe.
 */
export function pathOfNul(value: unknown): string | undefined {
  const stack: { v: unknown; path: string[] }[] = [{ v: value, path: [] }];
  while (stack.length > 0) {
    const { v, path } = stack.pop()!;
    if (typeof v === 'string' && v.includes('\0')) return path.join('.');
    if (typeof v !== 'object' || v === null) continue;
    for (const [k, child] of Object.entries(v)) {
      if (k.includes('\0')) return [...path, k].join('.');
      stack.push({ v: child, path: [...path, k] });
    }
  }
  return undefined;
}
