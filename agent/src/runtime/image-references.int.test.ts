import { DockerRuntime } from './docker-runtime';
import { EngineClient } from './engine-client';

/**
 * Integration (real Docker Engine): an image reference outside the engine's grammar, from a
 * release published before the control plane refused them, fails the release (terminal) instead
 * of being retried with backoff for good, and never reaches an engine API path.
 */
const runtime = new DockerRuntime(EngineClient.fromEnv());
const terminal = { code: 'invalid-image-reference', terminal: true };

describe('image references on a real engine', () => {
  it('refuses one the engine cannot parse as terminal, whichever call meets it first', async () => {
    await expect(runtime.pullImage('busybox@sha256:xyz')).rejects.toMatchObject(terminal);
    await expect(runtime.hasImage('127.0.0.1:5000/Flotilla/busybox:1')).rejects.toMatchObject(terminal);
    await expect(runtime.removeImage('busybox?force=true')).rejects.toMatchObject(terminal);
  });

  it('still answers for a valid reference the engine does not hold', async () => {
    await expect(runtime.hasImage(`127.0.0.1:5000/flotilla/absent-${process.pid}:1`)).resolves.toBe(false);
    await expect(runtime.removeImage(`127.0.0.1:5000/flotilla/absent-${process.pid}:1`)).resolves.toBe('absent');
  });
});
