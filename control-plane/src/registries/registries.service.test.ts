import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Release } from '@flotilla/shared';
import { strictFake } from '../testing/strict-fake';
import { RegistriesService } from './registries.service';
import type { RegistryCredentialsRepository, RegistryCredentialsRow } from './registry-credentials.repository';
import { InvalidRegistryHostError } from './registries.errors';
import { SecretBox } from './secret-box';
import { selfSignedCertificate } from './tokens/issuer-certificate';
import { RegistryTokenAuthService } from './tokens/registry-token-auth.service';
import type { RegistryTokenAuthRepository, RegistryTokenAuthRow } from './tokens/registry-token-auth.repository';

const DIGEST = `sha256:${'d'.repeat(64)}`;
const FLEET = '11111111-1111-4111-8111-111111111111';
const release = (...images: string[]) =>
  ({ assembly: { components: images.map((image, i) => ({ name: `c${i}`, image })) } }) as unknown as Pick<Release, 'assembly'>;
const granted = { deviceId: 'dev-a', fleetId: FLEET, registeredByAdmin: true };

/** A service over fake tables holding `rows` (sealed with the service's own key) and token registries, recording each read. */
function setup(rows: (box: SecretBox) => RegistryCredentialsRow[] = () => [], tokenRows: RegistryTokenAuthRow[] = []) {
  const box = new SecretBox(randomBytes(32));
  const table = rows(box);
  const reads: string[][] = [];
  const repository = strictFake<RegistryCredentialsRepository>('RegistryCredentialsRepository', {
    findAccess: async (registry) => {
      reads.push([registry]);
      const token = tokenRows.find((r) => r.registry === registry);
      if (token) return { token: { service: token.service, ttlSeconds: token.ttlSeconds } };
      const login = table.find((r) => r.registry === registry);
      return login ? { login } : {};
    },
  });
  const tokenRepository = strictFake<RegistryTokenAuthRepository>('RegistryTokenAuthRepository', {});
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const issuer = { name: 'flotilla', privateKey: pair.privateKey, certificate: selfSignedCertificate(pair, 't', new Date(), 1) };
  return { service: new RegistriesService(repository, box, new RegistryTokenAuthService(tokenRepository, issuer)), reads };
}

const row = (box: SecretBox, registry: string, password: string, grantedFleetIds = [FLEET]): RegistryCredentialsRow => ({
  registry,
  username: 'u',
  passwordSealed: box.seal(password, registry),
  updatedAt: new Date(),
  updatedBy: 'bootstrap',
  grantedFleetIds,
});

describe('RegistriesService.lookup', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('reads each registry once for a whole batch of releases, and opens the sealed passwords', async () => {
    const { service, reads } = setup((box) => [row(box, '127.0.0.1:5001', 'p1')]);
    const lookup = service.lookup();
    const a = release(`127.0.0.1:5001/a@${DIGEST}`, `127.0.0.1:5000/b@${DIGEST}`);
    expect(await lookup(a, granted)).toEqual([{ registry: '127.0.0.1:5001', username: 'u', password: 'p1' }]);
    expect(await lookup(a, granted)).toHaveLength(1);
    expect(await lookup(release(`127.0.0.1:5000/c@${DIGEST}`), granted)).toEqual([]);
    expect(await lookup(null, granted)).toEqual([]);
    expect(reads).toEqual([['127.0.0.1:5000'], ['127.0.0.1:5001']]);
  });

  it('leaves out a login whose sealed password does not open (another key), rather than failing the publish', async () => {
    const { service } = setup(() => [row(new SecretBox(randomBytes(32)), '127.0.0.1:5001', 'p1')]);
    expect(await service.lookup()(release(`127.0.0.1:5001/a@${DIGEST}`), granted)).toEqual([]);
  });

  it('signs a pull token for a token-issued registry, for the device, expiring after the registry’s lifetime', async () => {
    const now = new Date('2026-12-04T12:00:00Z');
    const { service } = setup(
      (box) => [row(box, 'own.example.com', 'never-sent')],
      [{ registry: 'own.example.com', service: 'own', ttlSeconds: 600, updatedAt: now, updatedBy: 'bootstrap' }],
    );
    const [auth] = await service.lookup(() => now)(release(`own.example.com/team/web@${DIGEST}`), granted);
    expect(auth).toMatchObject({ registry: 'own.example.com', expiresAt: '2026-12-04T12:10:00.000Z' });
    const claims = JSON.parse(Buffer.from((auth as { token: string }).token.split('.')[1]!, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    expect(claims).toMatchObject({ sub: 'dev-a', aud: 'own', access: [{ type: 'repository', name: 'team/web', actions: ['pull'] }] });
    expect(JSON.stringify(auth)).not.toContain('never-sent');
  });
});

describe('RegistriesService.set', () => {
  it('refuses a host that image references could not name, before touching the database', async () => {
    const { service } = setup();
    await expect(
      service.set('https://registry.example.com', { username: 'a', password: 'b' }, { id: 'k', name: 'k', role: 'admin' }),
    ).rejects.toThrow(InvalidRegistryHostError);
  });
});
