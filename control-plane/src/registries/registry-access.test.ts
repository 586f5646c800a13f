import type { Release } from '@flotilla/shared';
import { planRegistryAccess, releaseRegistries, type DeviceStanding, type StoredLogin } from './registry-access';

const DIGEST = `sha256:${'b'.repeat(64)}`;
const release = (...images: string[]) =>
  ({ assembly: { components: images.map((image, i) => ({ name: `c${i}`, image })) } }) as unknown as Pick<Release, 'assembly'>;

const FLEET = '11111111-1111-4111-8111-111111111111';
const OTHER = '22222222-2222-4222-8222-222222222222';
const adminDevice: DeviceStanding = { deviceId: 'dev-a', fleetId: FLEET, registeredByAdmin: true };
const logins = new Map<string, StoredLogin>([
  ['127.0.0.1:5001', { username: 'alice', password: 'p1', grantedFleetIds: [FLEET] }],
  ['registry.example.com', { username: 'bob', password: 'p2', grantedFleetIds: [] }],
]);
const tokens = new Map([['own.example.com', { service: 'own', ttlSeconds: 900 }]]);

describe('releaseRegistries', () => {
  it('lists each registry the components pull from once, Docker Hub by its canonical name', () => {
    expect(releaseRegistries(release(`127.0.0.1:5001/a@${DIGEST}`, `127.0.0.1:5001/b@${DIGEST}`, `busybox@${DIGEST}`))).toEqual([
      '127.0.0.1:5001',
      'docker.io',
    ]);
    expect(releaseRegistries(null)).toEqual([]);
  });
});

describe('planRegistryAccess', () => {
  it('hands a granted login to an admin-registered device of a granted fleet, for registries the release uses only', () => {
    expect(planRegistryAccess(release(`127.0.0.1:5001/a@${DIGEST}`, `127.0.0.1:5000/open@${DIGEST}`), adminDevice, tokens, logins)).toEqual(
      [{ registry: '127.0.0.1:5001', kind: 'login', username: 'alice', password: 'p1' }],
    );
  });

  it.each<[string, DeviceStanding]>([
    ['registered with an operator token', { ...adminDevice, registeredByAdmin: false }],
    ['in a fleet without the grant', { ...adminDevice, fleetId: OTHER }],
    ['in no fleet', { ...adminDevice, fleetId: null }],
  ])('hands no login to a device %s', (_, device) => {
    expect(planRegistryAccess(release(`127.0.0.1:5001/a@${DIGEST}`), device, tokens, logins)).toEqual([]);
  });

  it('hands no login that is granted to no fleet, and nothing for no release', () => {
    expect(planRegistryAccess(release(`registry.example.com/a@${DIGEST}`), adminDevice, tokens, logins)).toEqual([]);
    expect(planRegistryAccess(null, adminDevice, tokens, logins)).toEqual([]);
  });

  it("plans a token for a token-issued registry, scoped to the release's repositories there, whoever registered the device", () => {
    const operatorDevice = { deviceId: 'dev-o', fleetId: null, registeredByAdmin: false };
    const r = release(
      `own.example.com/team/web:1@${DIGEST}`,
      `own.example.com/team/api@${DIGEST}`,
      `own.example.com/team/web@${DIGEST}`,
      `busybox@${DIGEST}`,
    );
    expect(planRegistryAccess(r, operatorDevice, tokens, logins)).toEqual([
      { registry: 'own.example.com', kind: 'token', service: 'own', ttlSeconds: 900, repositories: ['team/api', 'team/web'] },
    ]);
  });

  it('issues tokens rather than handing out a login when a registry has both', () => {
    const both = new Map([...logins, ['own.example.com', { username: 'x', password: 'y', grantedFleetIds: [FLEET] }]]);
    expect(planRegistryAccess(release(`own.example.com/a@${DIGEST}`), adminDevice, tokens, both)).toMatchObject([{ kind: 'token' }]);
  });
});
