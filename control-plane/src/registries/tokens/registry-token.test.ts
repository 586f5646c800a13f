import { generateKeyPairSync, verify } from 'node:crypto';
import { selfSignedCertificate } from './issuer-certificate';
import { sameAccess, signRegistryToken, type TokenIssuer } from './registry-token';

// Unit: the token's form and signature with Node's own verifier; the registry's verdict is in tokens.int.test.ts.
describe('registry tokens', () => {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const now = new Date('2026-12-04T12:00:00Z');
  const certificate = selfSignedCertificate(pair, 'test issuer', now, 20);
  const issuer: TokenIssuer = { name: 'flotilla', privateKey: pair.privateKey, certificate };

  it('makes a self-signed certificate that verifies with its own key and names the key', () => {
    expect(certificate.verify(pair.publicKey)).toBe(true);
    expect(certificate.checkPrivateKey(pair.privateKey)).toBe(true);
    expect(certificate.subject).toBe('CN=test issuer');
    expect(certificate.issuer).toBe(certificate.subject);
    expect(certificate.ca).toBe(true);
    expect(new Date(certificate.validTo).getUTCFullYear()).toBe(2046);
  });

  it('signs an ES256 JWT with the access claim, audience and lifetime asked for', () => {
    const { token, expiresAt } = signRegistryToken(issuer, {
      service: 'registry.test',
      subject: 'dev-1',
      access: sameAccess(['team/web', 'team/api', 'team/web'], ['pull']),
      ttlSeconds: 900,
      now,
    });
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>;
    expect(decode(header)).toEqual({ typ: 'JWT', alg: 'ES256', x5c: [certificate.raw.toString('base64')] });
    expect(decode(payload)).toMatchObject({
      iss: 'flotilla',
      sub: 'dev-1',
      aud: 'registry.test',
      iat: now.getTime() / 1000,
      nbf: now.getTime() / 1000,
      exp: now.getTime() / 1000 + 900,
      access: [
        { type: 'repository', name: 'team/api', actions: ['pull'] },
        { type: 'repository', name: 'team/web', actions: ['pull'] },
      ],
    });
    expect(expiresAt.toISOString()).toBe('2026-12-04T12:15:00.000Z');
    const signed = Buffer.from(`${header}.${payload}`);
    expect(verify('sha256', signed, { key: pair.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'))).toBe(true);
  });
});
