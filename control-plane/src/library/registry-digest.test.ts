import { parseImageTag } from './registry-digest';

describe('parseImageTag', () => {
  it('splits registry, repository and tag', () => {
    expect(parseImageTag('127.0.0.1:5000/flotilla/mqtt-broker:1.0.0')).toEqual({
      registry: '127.0.0.1:5000',
      repository: 'flotilla/mqtt-broker',
      tag: '1.0.0',
    });
    expect(parseImageTag('registry.example/app:v2')).toEqual({ registry: 'registry.example', repository: 'app', tag: 'v2' });
  });

  it('refuses references without a registry host, without a tag, or already pinned', () => {
    expect(parseImageTag('busybox:1')).toBeUndefined();
    expect(parseImageTag('127.0.0.1:5000/app')).toBeUndefined();
    expect(parseImageTag(`127.0.0.1:5000/app@sha256:${'a'.repeat(64)}`)).toBeUndefined();
  });
});
