import type { RegistryAuth } from '@flotilla/shared';

/** What a registry's 401 asks for (`WWW-Authenticate`, RFC 7235; Docker's token scheme). */
export type Challenge = { scheme: 'basic' } | { scheme: 'bearer'; realm: string; service?: string; scope?: string };

/** The first challenge the agent can answer, or undefined. */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const scheme = match[1]!.toLowerCase();
  if (scheme === 'basic') return { scheme: 'basic' };
  if (scheme !== 'bearer') return undefined;
  const params = new Map<string, string>();
  for (const m of match[2]!.matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    params.set(m[1]!.toLowerCase(), (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1'));
  }
  const realm = params.get('realm');
  if (!realm) return undefined;
  const service = params.get('service');
  const scope = params.get('scope');
  return { scheme: 'bearer', realm, ...(service ? { service } : {}), ...(scope ? { scope } : {}) };
}

export function basicAuthorization(auth: RegistryAuth): string {
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
}

/**
 * The `Authorization` header that answers `challenge` with `auth`: Basic as it is (an
 * htpasswd registry), or a pull token fetched from the realm with Basic credentials (Docker
 * Hub, GHCR, Harbor, …). Undefined when the realm gives no token.
 */
export async function answerChallenge(
  challenge: Challenge,
  auth: RegistryAuth,
  repository: string,
  fetchFn: typeof fetch,
  timeoutMs: number,
): Promise<string | undefined> {
  if (challenge.scheme === 'basic') return basicAuthorization(auth);
  const url = new URL(challenge.realm);
  if (challenge.service) url.searchParams.set('service', challenge.service);
  url.searchParams.set('scope', challenge.scope ?? `repository:${repository}:pull`);
  const res = await fetchFn(url, { headers: { authorization: basicAuthorization(auth) }, signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) return undefined;
  const body = (await res.json()) as { token?: unknown; access_token?: unknown };
  const token = typeof body.token === 'string' ? body.token : typeof body.access_token === 'string' ? body.access_token : undefined;
  return token ? `Bearer ${token}` : undefined;
}
