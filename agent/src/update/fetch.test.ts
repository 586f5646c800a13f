import type { RegistryAuth, UpdateProgress } from '@flotilla/shared';
import type { PullProgress } from '../runtime/container-runtime';
import { ImagePullError, RegistryAuthError } from '../runtime/errors';
import { InMemoryRuntime } from '../runtime/in-memory-runtime';
import { instantClock } from '../support/test-clock';
import { retryNote } from './errors';
import { fetchImages } from './fetch';
import { RegistryAccess } from './registry-access';

const A = 'registry.local/a@sha256:' + 'a'.repeat(64);
const B = 'registry.local/b@sha256:' + 'b'.repeat(64);
const GONE = 'registry.local/gone@sha256:' + 'f'.repeat(64);

/** An engine whose pulls report two layers of 100 bytes, and whose first `failures` pulls fail on the network. */
class PullingRuntime extends InMemoryRuntime {
  constructor(private failures = 0) {
    super();
  }
  override async pullImage(ref: string, onProgress?: (p: PullProgress) => void): Promise<void> {
    if (this.failures-- > 0) throw new ImagePullError(ref, 'connection refused');
    for (const id of ['l1', 'l2']) {
      onProgress?.({ status: 'Downloading', id: `${ref}-${id}`, current: 50, total: 100 });
      onProgress?.({ status: 'Downloading', id: `${ref}-${id}`, current: 100, total: 100 });
    }
    return super.pullImage(ref);
  }
}

function options(runtime: InMemoryRuntime, progress: UpdateProgress[], retries: string[] = []) {
  return {
    runtime,
    clock: instantClock(),
    signal: new AbortController().signal,
    knownSizes: new Map([
      [A, 200],
      [B, 200],
    ]),
    onProgress: (p: UpdateProgress) => progress.push(p),
    onRetry: (err: unknown, attempt: number, waitMs: number) => retries.push(retryNote('fetch', err, attempt, waitMs)),
    authFor: () => undefined,
  };
}

describe('fetchImages (FETCH)', () => {
  it('pulls only missing images and reports bytes and percent up to 100', async () => {
    const runtime = new PullingRuntime();
    runtime.registry.add(A);
    runtime.registry.add(B);
    runtime.images.add(B);
    const progress: UpdateProgress[] = [];
    await fetchImages([A, B], options(runtime, progress));
    expect(runtime.calls.filter((c) => c.startsWith('pull'))).toEqual([`pull ${A}`]);
    expect(progress[0]).toEqual({ imagesDone: 0, imagesTotal: 1, bytesDone: 0, bytesTotal: 200, percent: 0 });
    expect(progress.map((p) => p.percent)).toEqual([...progress.map((p) => p.percent)].sort((x, y) => x - y));
    expect(progress.at(-1)).toEqual({ imagesDone: 1, imagesTotal: 1, bytesDone: 200, bytesTotal: 200, percent: 100 });
  });

  it('retries a network failure with backoff, and gives up at once on an image the registry does not have', async () => {
    const runtime = new PullingRuntime(2);
    runtime.registry.add(A);
    const retries: string[] = [];
    const opts = options(runtime, [], retries);
    await fetchImages([A], opts);
    expect(retries).toEqual([
      expect.stringMatching(/connection refused.*\(fetch attempt 1, next in 2 s\)/),
      expect.stringMatching(/fetch attempt 2, next in 4 s/),
    ]);
    expect((opts.clock as ReturnType<typeof instantClock>).slept).toEqual([2_000, 4_000]);
    await expect(fetchImages([GONE], options(new PullingRuntime(), []))).rejects.toThrow(/was not found/);
  });

  it('pulls each image with the login of its own registry, and none for a registry it has no login for', async () => {
    const PUBLIC = 'open.local/c@sha256:' + 'c'.repeat(64);
    const used: [string, string | undefined][] = [];
    class LoginRuntime extends InMemoryRuntime {
      override async pullImage(ref: string, onProgress?: (p: PullProgress) => void, auth?: RegistryAuth): Promise<void> {
        used.push([ref, auth && 'username' in auth ? auth.username : undefined]);
        return super.pullImage(ref, onProgress);
      }
    }
    const runtime = new LoginRuntime();
    [A, PUBLIC].forEach((i) => runtime.registry.add(i));
    const slot = {
      rev: 1,
      registryAuth: [
        { registry: 'registry.local', username: 'alice', password: 'p' },
        { registry: 'elsewhere.local', username: 'bob', password: 'q' },
      ],
    };
    const access = new RegistryAccess({ clock: instantClock(), askRefresh: () => undefined });
    await fetchImages([A, PUBLIC], { ...options(runtime, []), authFor: (ref) => access.forPull(ref, slot) });
    expect(used).toEqual([
      [A, 'alice'],
      [PUBLIC, undefined],
    ]);
  });

  it('does not pull with an expired token: asks for fresh ones once, and the retry pulls with them', async () => {
    const tokens: (string | undefined)[] = [];
    class TokenRuntime extends InMemoryRuntime {
      override async pullImage(ref: string, onProgress?: (p: PullProgress) => void, auth?: RegistryAuth): Promise<void> {
        tokens.push(auth && 'token' in auth ? auth.token : undefined);
        return super.pullImage(ref, onProgress);
      }
    }
    const runtime = new TokenRuntime();
    runtime.registry.add(A);
    const clock = instantClock();
    const soon = (s: number) => new Date(clock.now().getTime() + s * 1000).toISOString();
    const slot = { rev: 4, registryAuth: [{ registry: 'registry.local', token: 'stale', expiresAt: soon(10) }] };
    let asked = 0;
    const access = new RegistryAccess({
      clock,
      askRefresh: () => {
        asked++;
        // The control plane's answer: the same rev, fresh tokens (for another rev they are not used).
        access.refreshed(3, [{ registry: 'registry.local', token: 'wrong-rev', expiresAt: soon(900) }]);
        access.refreshed(4, [{ registry: 'registry.local', token: 'fresh', expiresAt: soon(900) }]);
      },
    });
    const retries: string[] = [];
    await fetchImages([A], { ...options(runtime, [], retries), authFor: (ref) => access.forPull(ref, slot) });
    expect(asked).toBe(1);
    expect(retries).toEqual([expect.stringMatching(/pull token for registry registry.local has expired/)]);
    expect(tokens).toEqual(['fresh']);
  });

  it('gives up at once, without retrying, when the registry refuses the login', async () => {
    class RefusingRuntime extends InMemoryRuntime {
      override async pullImage(ref: string): Promise<void> {
        throw new RegistryAuthError(ref, 'registry.local', 'unauthorized: authentication required', false);
      }
    }
    const retries: string[] = [];
    await expect(fetchImages([A], options(new RefusingRuntime(), [], retries))).rejects.toThrow(
      /registry registry.local refused .*PUT \/api\/v1\/registries\/registry.local\/credentials/,
    );
    expect(retries).toEqual([]);
  });
});
