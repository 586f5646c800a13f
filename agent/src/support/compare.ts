/**
 * Orders strings by code point: a stable, locale-free order for names. `localeCompare` would
 * load ICU's collation data for the agent's lifetime (about 3 MB of RSS) to sort ASCII names.
 */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
