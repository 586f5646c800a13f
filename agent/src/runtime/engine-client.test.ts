import { EngineClient } from './engine-client';
import { pullQuery } from './docker-runtime';

describe('EngineClient.fromEnv', () => {
  it('reads DOCKER_HOST as the docker CLI does', () => {
    expect(EngineClient.fromEnv({}).address).toEqual({ socketPath: '/var/run/docker.sock' });
    expect(EngineClient.fromEnv({ DOCKER_HOST: 'unix:///run/balena-engine.sock' }).address).toEqual({
      socketPath: '/run/balena-engine.sock',
    });
    expect(EngineClient.fromEnv({ DOCKER_HOST: 'tcp://127.0.0.1:2375' }).address).toEqual({ host: '127.0.0.1', port: 2375 });
  });

  it('refuses an address it cannot reach rather than guessing', () => {
    expect(() => EngineClient.fromEnv({ DOCKER_HOST: 'ssh://pi@board' })).toThrow(
      expect.objectContaining({ code: 'engine-address-unsupported', terminal: true }),
    );
  });
});

describe('pullQuery', () => {
  const digest = `sha256:${'a'.repeat(64)}`;
  it('puts a digest in tag, as the docker CLI does', () => {
    expect(pullQuery(`127.0.0.1:5000/flotilla/web@${digest}`)).toEqual({ fromImage: '127.0.0.1:5000/flotilla/web', tag: digest });
  });
  it('splits a tag, but not a registry port', () => {
    expect(pullQuery('127.0.0.1:5000/web:1.2')).toEqual({ fromImage: '127.0.0.1:5000/web', tag: '1.2' });
    expect(pullQuery('127.0.0.1:5000/web')).toEqual({ fromImage: '127.0.0.1:5000/web', tag: 'latest' });
    expect(pullQuery('busybox')).toEqual({ fromImage: 'busybox', tag: 'latest' });
  });
});
