import { EngineClient } from './engine-client';

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
