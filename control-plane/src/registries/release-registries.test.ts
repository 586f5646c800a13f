import type { Release } from '@flotilla/shared';
import { registryAuthForRelease, releaseRegistries } from './release-registries';

const DIGEST = `sha256:${'b'.repeat(64)}`;
const release = (...images: string[]) =>
  ({ assembly: { components: images.map((image, i) => ({ name: `c${i}`, image })) } }) as unknown as Pick<Release, 'assembly'>;

describe('releaseRegistries', () => {
  it('lists each registry the components pull from once, Docker Hub by its canonical name', () => {
    expect(releaseRegistries(release(`127.0.0.1:5001/a@${DIGEST}`, `127.0.0.1:5001/b@${DIGEST}`, `busybox@${DIGEST}`))).toEqual([
      '127.0.0.1:5001',
      'docker.io',
    ]);
    expect(releaseRegistries(null)).toEqual([]);
  });
});

describe('registryAuthForRelease', () => {
  const logins = new Map([
    ['127.0.0.1:5001', { username: 'alice', password: 'p1' }],
    ['registry.example.com', { username: 'bob', password: 'p2' }],
  ]);

  it('hands over only the logins of registries the release uses', () => {
    expect(registryAuthForRelease(release(`127.0.0.1:5001/a@${DIGEST}`, `127.0.0.1:5000/open@${DIGEST}`), logins)).toEqual([
      { registry: '127.0.0.1:5001', username: 'alice', password: 'p1' },
    ]);
  });

  it('hands over nothing for a release on public registries, or for no release', () => {
    expect(registryAuthForRelease(release(`127.0.0.1:5000/open@${DIGEST}`), logins)).toEqual([]);
    expect(registryAuthForRelease(null, logins)).toEqual([]);
  });
});
