import { randomUUID, sign, type KeyObject, type X509Certificate } from 'node:crypto';

/** The key that signs registry tokens and the certificate registries trust it by. */
export interface TokenIssuer {
  /** The tokens' `iss`; a registry's `auth.token.issuer` must be the same string. */
  name: string;
  privateKey: KeyObject;
  certificate: X509Certificate;
}

export type RegistryAction = 'pull' | 'push';

export interface RepositoryAccess {
  repository: string;
  actions: readonly RegistryAction[];
}

/** The same actions on each of `repositories`. */
export const sameAccess = (repositories: readonly string[], actions: readonly RegistryAction[]): RepositoryAccess[] =>
  [...new Set(repositories)].map((repository) => ({ repository, actions }));

export interface RegistryTokenClaims {
  /** The registry's `auth.token.service`: the token's audience. */
  service: string;
  /** Who holds the token: a device id. */
  subject: string;
  /** Repository names as the registry spells them (`team/app`), each with the actions granted on it. */
  access: readonly RepositoryAccess[];
  ttlSeconds: number;
  now: Date;
}

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * A bearer token in the form of Docker distribution's token authentication ("Token
 * Authentication Implementation", docs/spec/auth/jwt.md): an ES256 JWT whose `access` claim
 * lists `{type: repository, name, actions}`. The signing certificate rides in `x5c`; the
 * registry accepts the token when that chain ends in its `rootcertbundle`, `iss` is its
 * issuer, `aud` its service, and now lies between `nbf` and `exp` (each with 60 s leeway).
 */
export function signRegistryToken(issuer: TokenIssuer, claims: RegistryTokenClaims): { token: string; expiresAt: Date } {
  const issuedAt = Math.floor(claims.now.getTime() / 1000);
  const expiresAt = issuedAt + claims.ttlSeconds;
  const header = { typ: 'JWT', alg: 'ES256', x5c: [issuer.certificate.raw.toString('base64')] };
  const payload = {
    iss: issuer.name,
    sub: claims.subject,
    aud: claims.service,
    iat: issuedAt,
    nbf: issuedAt,
    exp: expiresAt,
    jti: randomUUID(),
    access: [...claims.access]
      .sort((a, b) => a.repository.localeCompare(b.repository))
      .map((a) => ({ type: 'repository', name: a.repository, actions: [...a.actions] })),
  };
  const signingInput = `${b64url(header)}.${b64url(payload)}`;
  // JWS wants the raw r‖s pair (RFC 7518 §3.4), not the DER structure Node makes by default.
  const signature = sign('sha256', Buffer.from(signingInput), { key: issuer.privateKey, dsaEncoding: 'ieee-p1363' });
  return { token: `${signingInput}.${signature.toString('base64url')}`, expiresAt: new Date(expiresAt * 1000) };
}
