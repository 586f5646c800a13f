import { imagesToCollect } from './gc';
import { parseRef } from './registry-facts';

describe('imagesToCollect', () => {
  it('removes what the agent knew and the new active slot does not use', () => {
    expect(imagesToCollect(['a', 'b', 'c', 'b'], ['b'])).toEqual(['a', 'c']);
    expect(imagesToCollect([], ['b'])).toEqual([]);
  });
});

describe('parseRef', () => {
  const digest = 'sha256:' + 'a'.repeat(64);
  it('splits registry, repository and digest of a pinned reference', () => {
    expect(parseRef(`127.0.0.1:5000/flotilla/web@${digest}`)).toEqual({ host: '127.0.0.1:5000', repository: 'flotilla/web', digest });
    expect(parseRef(`ghcr.io/acme/web:1.0@${digest}`)).toEqual({ host: 'ghcr.io', repository: 'acme/web', digest });
  });
  it('leaves Docker Hub short names and unpinned references to the engine', () => {
    expect(parseRef(`library/busybox@${digest}`)).toBeUndefined();
    expect(parseRef('127.0.0.1:5000/web:latest')).toBeUndefined();
  });
});
