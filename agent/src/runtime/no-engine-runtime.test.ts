import type { ContainerRuntime } from './container-runtime';
import { NoEngineError, NoEngineRuntime } from './no-engine-runtime';

describe('NoEngineRuntime (a device without a container engine)', () => {
  const runtime: ContainerRuntime = new NoEngineRuntime('/var/run/docker.sock', '/data/flotilla');

  it('sees nothing running, so an OS-only release plans no container step', async () => {
    expect(await runtime.listContainers()).toEqual([]);
    expect(await runtime.listNetworks()).toEqual([]);
    expect(await runtime.listVolumes()).toEqual([]);
    expect(await runtime.hasImage('busybox')).toBe(false);
    expect(await runtime.removeImage('busybox')).toBe('absent');
    expect((await runtime.engineInfo()).dataRoot).toBe('/data/flotilla');
  });

  it('refuses to start anything, transiently (the engine may start later), saying what to install', async () => {
    const refusal = runtime.pullImage('127.0.0.1:5000/web@sha256:' + 'a'.repeat(64));
    await expect(refusal).rejects.toBeInstanceOf(NoEngineError);
    await expect(refusal).rejects.toMatchObject({ code: 'no-container-engine', terminal: false });
    await expect(runtime.ensureNetwork('default', {})).rejects.toThrow(
      /no container engine \(no Docker socket at \/var\/run\/docker.sock\).*docker\.io/,
    );
  });
});
