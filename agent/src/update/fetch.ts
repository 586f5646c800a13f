import type { RegistryAuth, UpdateProgress } from '@flotilla/shared/device';
import type { ContainerRuntime, PullProgress } from '../runtime/container-runtime';
import { backoffMs, type Clock } from '../support/clock';
import { isTerminal } from '../support/errors';

export interface FetchOptions {
  runtime: ContainerRuntime;
  clock: Clock;
  signal: AbortSignal;
  /** Sizes VERIFY learned from the registry, by image reference. */
  knownSizes: ReadonlyMap<string, number>;
  /** The access to pull `ref` with (`RegistryAccess.forPull`); may throw a transient error for an expired token. */
  authFor: (ref: string) => RegistryAuth | undefined;
  onProgress: (progress: UpdateProgress) => void;
  /** A transient failure of the `attempt`th pull that will be retried in `waitMs`, for the reported state. */
  onRetry: (err: unknown, attempt: number, waitMs: number) => void;
  /** Runs before each missing image is pulled: may load it from deltas, so the pull fetches only its manifest (agent/src/delta). */
  beforePull?: (image: string) => Promise<void>;
  retryBaseMs?: number;
  retryCapMs?: number;
}

/**
 * FETCH: pulls every missing image by digest while the active slot keeps running. A
 * registry that answers "no such image" or refuses the login fails the update at once
 * (terminal); anything else (network down, registry restarting) is retried with backoff for
 * as long as the update stays in FETCH, since a device may be offline for hours.
 */
export async function fetchImages(images: readonly string[], options: FetchOptions): Promise<void> {
  const missing: string[] = [];
  for (const image of images) if (!(await options.runtime.hasImage(image))) missing.push(image);
  const layers = new Map<string, { current: number; total: number }>();
  let imagesDone = 0;
  const report = () => {
    const seen = [...layers.values()];
    const layerTotal = seen.reduce((s, l) => s + l.total, 0);
    const known = missing.reduce((s, i) => s + (options.knownSizes.get(i) ?? 0), 0);
    const bytesTotal = Math.max(known, layerTotal);
    const bytesDone = Math.min(
      bytesTotal,
      seen.reduce((s, l) => s + l.current, 0),
    );
    const byImages = missing.length === 0 ? 100 : (imagesDone / missing.length) * 100;
    const percent = bytesTotal > 0 ? Math.max(byImages, (bytesDone / bytesTotal) * 100) : byImages;
    options.onProgress({ imagesDone, imagesTotal: missing.length, bytesDone, bytesTotal, percent: Math.min(100, Math.round(percent)) });
  };
  report();
  for (const image of missing) {
    await options.beforePull?.(image);
    for (let attempt = 0; ; attempt++) {
      if (options.signal.aborted) return;
      try {
        await options.runtime.pullImage(
          image,
          (p: PullProgress) => {
            if (!p.id || p.total === undefined) return;
            const key = `${image}#${p.id}`;
            if (p.status === 'Downloading') layers.set(key, { current: p.current ?? 0, total: p.total });
            report();
          },
          options.authFor(image),
        );
        break;
      } catch (err) {
        if (isTerminal(err)) throw err;
        const wait = backoffMs(attempt, options.retryBaseMs ?? 2_000, options.retryCapMs ?? 300_000);
        options.onRetry(err, attempt, wait);
        await options.clock.sleep(wait, options.signal);
      }
    }
    for (const [key, layer] of layers) if (key.startsWith(`${image}#`)) layers.set(key, { ...layer, current: layer.total });
    imagesDone++;
    report();
  }
}
