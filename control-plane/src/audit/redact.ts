/** Fields whose values are secrets: never written to the audit log. */
const SECRET_KEYS = new Set(['token', 'password', 'key', 'secret', 'privatekey', 'apikey']);

/** A copy of `value` with every secret-named field replaced, at any depth. */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.has(k.toLowerCase()) ? '[redacted]' : redactSecrets(v);
  return out;
}
