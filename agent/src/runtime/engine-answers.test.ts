import { containerState, healthState, managedContainer, namespacePid, enginePlatform } from './engine-answers';

// Unit: the engine's answers in the runtime's terms.
describe('engine answers', () => {
  it('maps states the protocol does not know to what planning can use', () => {
    expect(containerState('running')).toBe('running');
    expect(containerState('removing')).toBe('exited');
    expect(healthState('healthy')).toBe('healthy');
    expect(healthState(undefined)).toBe('none');
    expect(healthState('weird')).toBe('none');
  });

  it('names the platform as OCI does, with the arm variant uname gives', () => {
    expect(enginePlatform('aarch64', 'linux')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(enginePlatform('x86_64', undefined)).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(enginePlatform('armv7l', 'linux')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(enginePlatform('armv6l', 'linux')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v6' });
    expect(enginePlatform('riscv64', 'linux')).toEqual({ os: 'linux', architecture: 'riscv64' });
  });

  it('reads the pid inside the container from the last NSpid entry', () => {
    expect(namespacePid('Name:\tsh\nNSpid:\t4242\t7\nPPid:\t1\n')).toBe(7);
    expect(namespacePid('Name:\tsh\n')).toBeUndefined();
    expect(namespacePid(undefined)).toBeUndefined();
  });

  it('turns an inspect answer into a managed container', () => {
    const info = { Id: 'c1', Name: '/web', Config: { Image: 'web:1', Labels: null }, State: { Status: 'paused', StartedAt: 't' } };
    expect(managedContainer(info)).toEqual({
      id: 'c1',
      name: 'web',
      image: 'web:1',
      state: 'paused',
      health: 'none',
      restartCount: 0,
      startedAt: 't',
      labels: {},
    });
  });
});
