import { DOCKER_HUB, RegistryHost, imageRegistry, registryAuthFor } from './registry-auth';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('imageRegistry', () => {
  it.each([
    [`127.0.0.1:5001/flotilla/app@${DIGEST}`, '127.0.0.1:5001'],
    [`Registry.Example.com/team/app@${DIGEST}`, 'registry.example.com'],
    [`localhost/app:1`, 'localhost'],
    [`ghcr.io/o/app:1`, 'ghcr.io'],
    [`library/busybox@${DIGEST}`, DOCKER_HUB],
    [`busybox`, DOCKER_HUB],
    [`index.docker.io/library/busybox:1`, DOCKER_HUB],
  ])('%s is served by %s', (ref, registry) => {
    expect(imageRegistry(ref)).toBe(registry);
  });
});

describe('registryAuthFor', () => {
  const auths = [
    { registry: '127.0.0.1:5001', username: 'a', password: 'p1' },
    { registry: 'docker.io', username: 'b', password: 'p2' },
  ];

  it('picks the credentials of the image’s registry, and none for another registry', () => {
    expect(registryAuthFor(`127.0.0.1:5001/x@${DIGEST}`, auths)?.username).toBe('a');
    expect(registryAuthFor('busybox:1', auths)?.username).toBe('b');
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
