import {
  DOCKER_HUB,
  RegistryAuth,
  RegistryHost,
  imageRegistry,
  imageRepository,
  registryAuthExpired,
  registryAuthFor,
} from './registry-auth';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('imageRegistry', () => {
  it.each([
    [`127.0.0.1:5001/flotilla/app@${DIGEST}`, '127.0.0.1:5001'],
    [`Registry.Example.com/team/app@${DIGEST}`, 'registry.example.com'],
    [`localhost/app:1`, 'localhost'],
    [`registry.example.com/o/app:1`, 'registry.example.com'],
    [`library/busybox@${DIGEST}`, DOCKER_HUB],
    [`busybox`, DOCKER_HUB],
    [`index.docker.io/library/busybox:1`, DOCKER_HUB],
  ])('%s is served by %s', (ref, registry) => {
    expect(imageRegistry(ref)).toBe(registry);
  });
});

describe('imageRepository', () => {
  it.each([
    [`127.0.0.1:5001/team/web:1@${DIGEST}`, 'team/web'],
    [`127.0.0.1:5001/web@${DIGEST}`, 'web'],
    [`registry.example.com/a/b/c:tag`, 'a/b/c'],
    [`localhost/app:1`, 'app'],
    [`busybox@${DIGEST}`, 'library/busybox'],
    [`team/app:1`, 'team/app'],
  ])('%s names repository %s', (ref, repository) => {
    expect(imageRepository(ref)).toBe(repository);
  });
});

describe('RegistryAuth', () => {
  it('is a login or a token, and only a token expires', () => {
    const token = RegistryAuth.parse({ registry: 'r', token: 't', expiresAt: '2026-12-04T12:15:00Z', extra: 1 });
    const login = RegistryAuth.parse({ registry: 'r', username: 'u', password: 'p' });
    expect(token).toEqual({ registry: 'r', token: 't', expiresAt: '2026-12-04T12:15:00Z' });
    expect(RegistryAuth.safeParse({ registry: 'r', token: 't' }).success).toBe(false);
    const now = new Date('2026-12-04T12:14:00Z');
    expect(registryAuthExpired(token, now)).toBe(false);
    expect(registryAuthExpired(token, now, 60_000)).toBe(true);
    expect(registryAuthExpired(login, new Date('2100-01-01'))).toBe(false);
  });
});

describe('registryAuthFor', () => {
  const auths = [
    { registry: '127.0.0.1:5001', username: 'a', password: 'p1' },
    { registry: 'docker.io', username: 'b', password: 'p2' },
  ];

  it('picks the credentials of the image’s registry, and none for another registry', () => {
    expect(registryAuthFor(`127.0.0.1:5001/x@${DIGEST}`, auths)).toEqual(auths[0]);
    expect(registryAuthFor('busybox:1', auths)).toEqual(auths[1]);
    expect(registryAuthFor(`127.0.0.1:5000/x@${DIGEST}`, auths)).toBeUndefined();
    expect(registryAuthFor(`127.0.0.1:5001/x@${DIGEST}`, undefined)).toBeUndefined();
  });
});

describe('RegistryHost', () => {
  it('accepts hosts as references spell them and normalizes case and Docker Hub aliases', () => {
    expect(RegistryHost.parse('127.0.0.1:5001')).toBe('127.0.0.1:5001');
    expect(RegistryHost.parse('Registry.Example.COM')).toBe('registry.example.com');
    expect(RegistryHost.parse('index.docker.io')).toBe('docker.io');
  });

  it.each(['', 'http://registry.example.com', 'registry.example.com/path', 'a b', 'host:port', '-bad.example'])('refuses %j', (host) => {
    expect(RegistryHost.safeParse(host).success).toBe(false);
  });
});
