import { InMemoryRuntime } from './in-memory-runtime';
import { LateEngineRuntime } from './late-engine-runtime';
import { NoEngineError, NoEngineRuntime } from './no-engine-runtime';

describe('LateEngineRuntime (no engine socket when the agent started)', () => {
  const IMG = 'registry.local/app@sha256:' + 'a'.repeat(64);

  it('refuses transiently while the socket is missing, and uses the engine from the moment it appears', async () => {
    const engine = new InMemoryRuntime();
    engine.registry.add(IMG);
    let socket = false;
    let found = 0;
    const probed: string[] = [];
    const runtime = new LateEngineRuntime(
      '/var/run/docker.sock',
      engine,
      new NoEngineRuntime('/var/run/docker.sock', '/data'),
      () => found++,
      async (path) => (probed.push(path), socket),
    );

    expect(await runtime.listContainers()).toEqual([]);
    await expect(runtime.pullImage(IMG)).rejects.toMatchObject({ constructor: NoEngineError, terminal: false });
    expect(engine.calls).toEqual([]);

    socket = true;
    await runtime.pullImage(IMG);
    expect(await runtime.hasImage(IMG)).toBe(true);
    expect(found).toBe(1);
    // Found once is found for good: a socket gone again is the engine's own (transient) error to report.
    socket = false;
    expect(await runtime.hasImage(IMG)).toBe(true);
    expect(probed).toEqual(['/var/run/docker.sock', '/var/run/docker.sock', '/var/run/docker.sock']);
  });
});
