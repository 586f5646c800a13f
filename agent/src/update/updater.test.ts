import { minimalComponent } from '@flotilla/shared';
import type { EngineInfo } from '../runtime/container-runtime';
import { EngineError } from '../runtime/errors';
import { InMemoryRuntime } from '../runtime/in-memory-runtime';
import type { Clock } from '../support/clock';
import { silentLogger } from '../support/logger';
import { instantClock } from '../support/test-clock';
import { signedDesired, testSigner } from '../testing/releases';
import { INITIAL_STATE, type UpdateState } from './machine';
import { RegistryAccess } from './registry-access';
import { Updater } from './updater';

/**
 * Unit: the updater retries VERIFY and FETCH after a transient failure (an engine that does
 * not answer, a full disk) instead of failing the rev, and a newer desired ends the wait. The
 * engine is in memory; `engine-unreachable.int.test.ts` does the same against the real one.
 */
const IMG_A = 'registry.local/app@sha256:' + 'a'.repeat(64);
const IMG_B = 'registry.local/app@sha256:' + 'b'.repeat(64);
const signer = testSigner();

/** An in-memory engine that does not answer while `down` says so (dockerd restarting). */
class FlakyEngine extends InMemoryRuntime {
  down: (ref?: string) => boolean = () => false;
  override async engineInfo(): Promise<EngineInfo> {
    if (this.down()) throw new EngineError('read', 'engine info', 'connect ENOENT /var/run/docker.sock');
    return super.engineInfo();
  }
  override async hasImage(ref: string): Promise<boolean> {
    if (this.down(ref)) throw new EngineError('inspect image', ref, 'connect ENOENT /var/run/docker.sock');
    return super.hasImage(ref);
  }
}

function setup(clock: Clock = instantClock()) {
  const runtime = new FlakyEngine();
  runtime.registry.add(IMG_A);
  runtime.registry.add(IMG_B);
  let journaled: UpdateState = INITIAL_STATE;
  const ledger = { images: [] as string[], full: 0 };
  const notes: (string | null)[] = [];
  const updater: Updater = new Updater({
    journal: { read: async () => journaled, write: async (s) => void (journaled = s) },
    ledger: {
      read: async () => ledger.images,
      add: async (images) => {
        if (ledger.full > 0 && ledger.full--) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        ledger.images = [...new Set([...ledger.images, ...images])];
      },
      write: async (images) => void (ledger.images = [...images]),
    },
    runtime,
    clock,
    logger: silentLogger,
    releaseKeys: [signer.key],
    board: undefined,
    freeDiskBytes: async () => 10 * 1024 ** 3,
    imageFacts: async () => ({ sizeBytes: 1024 }),
    controlPlaneConnected: () => true,
    registryAccess: new RegistryAccess({ clock, askRefresh: () => undefined }),
    onChange: () => notes.push(updater.status().lastFailure),
    onEvent: () => undefined,
  });
  return { updater, runtime, ledger, notes, journal: () => journaled };
}

const release = (rev: number, image: string) => signedDesired(signer, rev, [minimalComponent('web', image)]);

describe('Updater: transient failures before the switch', () => {
  it('waits for an engine that does not answer in VERIFY, then commits the same rev, with backoff', async () => {
    const clock = instantClock();
    const s = setup(clock);
    let calls = 0;
    s.runtime.down = () => ++calls <= 3;
    await s.updater.start();
    s.updater.desire(release(1, IMG_A));
    await s.updater.settled();
    expect(s.journal()).toMatchObject({ phase: 'idle', active: { rev: 1 }, failedRev: null, lastFailure: null });
    expect(clock.slept).toEqual([1_000, 2_000, 4_000]);
    expect(s.notes).toContain(
      'waiting for the container engine: container engine could not read engine info: connect ENOENT /var/run/docker.sock; check that dockerd is running and its log (verify attempt 1, next in 1 s)',
    );
    expect(s.updater.status().lastFailure).toBeNull();
  });

  it('waits for the disk when the image ledger cannot be written at the start of FETCH', async () => {
    const s = setup();
    s.ledger.full = 2;
    await s.updater.start();
    s.updater.desire(release(1, IMG_A));
    await s.updater.settled();
    expect(s.journal()).toMatchObject({ phase: 'idle', active: { rev: 1 }, failedRev: null });
    expect(new Set(s.notes.filter((n) => n?.startsWith('waiting for the disk')))).toEqual(
      new Set([
        'waiting for the disk: ENOSPC: no space left on device, write (fetch attempt 1, next in 1 s)',
        'waiting for the disk: ENOSPC: no space left on device, write (fetch attempt 2, next in 2 s)',
      ]),
    );
  });

  it('still fails the rev at once on a terminal refusal', async () => {
    const s = setup();
    await s.updater.start();
    s.updater.desire(release(1, 'registry.local/gone@sha256:' + 'f'.repeat(64)));
    await s.updater.settled();
    expect(s.journal()).toMatchObject({ phase: 'idle', active: null, failedRev: 1, lastFailure: expect.stringMatching(/not found/) });
  });

  it('lets a newer desired end the wait: the waiting rev is dropped, not failed', async () => {
    // Time stands still: each backoff lasts until the updater aborts it.
    const still: Clock = {
      now: () => new Date('2026-11-27T12:00:00Z'),
      sleep: (_ms, signal) => new Promise((resolve) => (signal?.aborted ? resolve() : signal?.addEventListener('abort', () => resolve()))),
    };
    const s = setup(still);
    s.runtime.down = (ref) => ref === IMG_A;
    await s.updater.start();
    const waiting = new Promise<void>((resolve) => {
      const push = s.notes.push.bind(s.notes);
      s.notes.push = (...n) => (n.some((x) => x?.startsWith('waiting for the container engine')) && resolve(), push(...n));
    });
    s.updater.desire(release(1, IMG_A));
    await waiting;
    expect(s.updater.current).toMatchObject({ phase: 'verify', candidate: { rev: 1 }, failedRev: null });
    s.updater.desire(release(2, IMG_B));
    await s.updater.settled();
    expect(s.journal()).toMatchObject({ phase: 'idle', active: { rev: 2 }, failedRev: null, lastFailure: null });
  });
});
