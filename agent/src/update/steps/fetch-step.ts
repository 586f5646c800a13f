import type { UpdateDeferral, UpdateProgress } from '@flotilla/shared/device';
import type { ContainerRuntime } from '../../runtime/container-runtime';
import type { Clock } from '../../support/clock';
import type { Logger } from '../../support/logger';
import { retryNote } from '../errors';
import { fetchImages } from '../fetch';
import type { ImageLedger } from '../image-ledger';
import type { UpdateLocks } from '../locks/update-locks';
import type { Slot } from '../machine';
import type { RegistryAccess } from '../registry-access';
import { imagesOf, imagesToFetch } from '../slots';
import { awaitWindow, windowState } from '../window-wait';
import type { DeltaFetcher } from '../../delta/delta-fetcher';

export interface FetchDeps {
  runtime: ContainerRuntime;
  clock: Clock;
  logger: Logger;
  ledger: Pick<ImageLedger, 'add'>;
  registryAccess: Pick<RegistryAccess, 'forPull' | 'forRead'>;
  locks: UpdateLocks | undefined;
  timeZone: string;
  /** Binary layer deltas (agent/src/delta): tried before each pull, which then fetches only the manifest. */
  deltas?: Pick<DeltaFetcher, 'prepare'>;
  onEvent: (kind: 'update-delta-applied' | 'update-delta-fallback', message: string, slot: Slot, phase: 'fetch') => void;
}

/** What FETCH tells while it runs; the updater turns each into a report. */
export interface FetchProgress {
  progress(progress: UpdateProgress): void;
  /** A retry note while a pull fails and is retried; `undefined` once the pulls are done. */
  note(note: string | undefined): void;
  deferral(deferral: UpdateDeferral | undefined): void;
}

/**
 * FETCH: pulls the candidate's images, then holds the switch back until a maintenance
 * window is open and no running component holds an update lock. It stays FETCH while it
 * waits, so a restart meanwhile re-verifies instead of rolling back. A lock may outlast the
 * window: then it waits for the next one.
 */
export async function fetchCandidate(
  deps: FetchDeps,
  candidate: Slot,
  active: () => Slot | null,
  knownSizes: ReadonlyMap<string, number>,
  tell: FetchProgress,
  signal: AbortSignal,
): Promise<void> {
  await deps.ledger.add(imagesOf(candidate));
  await fetchImages(imagesToFetch(candidate), {
    runtime: deps.runtime,
    clock: deps.clock,
    signal,
    knownSizes,
    authFor: (ref) => deps.registryAccess.forPull(ref, candidate),
    ...(deps.deltas ? { beforePull: (image: string) => fromDeltas(deps, deps.deltas!, image, candidate, active(), signal) } : {}),
    onProgress: (progress) => tell.progress(progress),
    onRetry: (err, attempt, waitMs) => tell.note(retryNote('fetch', err, attempt, waitMs)),
  });
  tell.note(undefined);
  const windowed = { clock: deps.clock, logger: deps.logger, timeZone: deps.timeZone };
  const onDeferral = (deferral: UpdateDeferral | undefined): void => tell.deferral(deferral);
  do {
    await awaitWindow(windowed, candidate, signal, onDeferral);
    await deps.locks?.awaitClearance(candidate, active(), signal, onDeferral);
  } while (!signal.aborted && windowState(candidate, deps.timeZone, deps.clock.now().getTime())?.open === false);
}

async function fromDeltas(
  deps: FetchDeps,
  deltas: Pick<DeltaFetcher, 'prepare'>,
  image: string,
  candidate: Slot,
  active: Slot | null,
  signal: AbortSignal,
): Promise<void> {
  const { platform } = await deps.runtime.engineInfo();
  await deltas.prepare(image, {
    held: active ? imagesOf(active) : [],
    platform,
    auth: deps.registryAccess.forRead(image, candidate),
    signal,
    onEvent: (kind, message) => deps.onEvent(kind, message, candidate, 'fetch'),
  });
}
