import { Inject, Injectable, Logger } from '@nestjs/common';
import { ImageDeltaRequest, normalRequest, platformOfRequest, type DeltaLayer, type ImageDelta } from '@flotilla/shared';
import { join } from 'node:path';
import { RegistriesService } from '../registries/registries.service';
import { DeltaRepository } from './delta.repository';
import { DeltaWorkshop } from './delta-workshop';
import { DeltaBlobNotFoundError, DeltaForbiddenError, DeltaNotReadableError, InvalidDeltaRequestError } from './deltas.errors';
import { deltaTotals, pairLayers } from './layer-pairing';
import { RegistryReader } from './registry-reader';

export const DELTA_WORKSHOP = Symbol('DeltaWorkshop');

/** Layers smaller than this (compressed) are sent whole: a patch would save next to nothing. */
const MIN_DELTA_BYTES = 64 * 1024;

/**
 * Binary layer deltas between two images, computed once per (from, to, architecture) and kept:
 * on the first request (a device's, or an operator's `flotilla delta` in CI) in the background,
 * the caller told `computing` and asking again later.
 */
@Injectable()
export class DeltasService {
  private readonly logger = new Logger('Deltas');
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly deltas: DeltaRepository,
    private readonly registries: RegistriesService,
    @Inject(DELTA_WORKSHOP) private readonly store: DeltaWorkshop,
  ) {}

  /** The delta, starting its computation when none is stored; `wait` resolves only once it is ready or failed. */
  async get(input: unknown, wait = false): Promise<ImageDelta> {
    const key = parseRequest(input);
    if (await this.deltas.claim(key)) this.start(key);
    if (wait) await this.running.get(keyOf(key));
    return (await this.deltas.find(key))!;
  }

  /**
   * For a device: only deltas to an image of its own desired release, from an image of some
   * release (so a device never makes the control plane read an image, or a host, of its choosing).
   */
  async getForDevice(deviceId: string, input: unknown): Promise<ImageDelta> {
    const key = parseRequest(input);
    if (!(await this.deltas.isDesiredImage(deviceId, key.to)) || !(await this.deltas.isReleasedImage(key.from)))
      throw new DeltaForbiddenError();
    if (!(await this.readableBy(deviceId, [key.from, key.to]))) throw new DeltaNotReadableError();
    return this.get(key);
  }

  /** Its digest is no secret (an operator's `flotilla delta` answers it): the file is served as its delta would be. */
  async fileForDevice(deviceId: string, digest: string): Promise<Buffer> {
    const holders = await this.deltas.desiredDeltasHolding(deviceId, digest);
    if (holders.length === 0) throw new DeltaForbiddenError();
    let readable = false;
    for (const d of holders) if (!readable) readable = await this.readableBy(deviceId, [d.from, d.to]);
    if (!readable) throw new DeltaNotReadableError();
    const bytes = await this.deltas.findFile(digest);
    if (!bytes) throw new DeltaBlobNotFoundError(digest);
    return bytes;
  }

  /** A delta is made with the control plane's own registry access: it reaches only a device given that access itself. */
  private async readableBy(deviceId: string, images: readonly string[]): Promise<boolean> {
    const standing = await this.deltas.standing(deviceId);
    return standing !== undefined && (await this.registries.readableByDevice(standing, images));
  }

  /** Settles when every computation this instance started has ended (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.all(this.running.values());
  }

  private start(key: ImageDeltaRequest): void {
    const id = keyOf(key);
    const run = this.compute(key)
      .catch(async (err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        this.logger.warn(`delta ${key.from} → ${key.to} (${key.architecture}) failed: ${message}`);
        await this.deltas.fail(key, message);
      })
      .finally(() => this.running.delete(id));
    this.running.set(id, run);
  }

  private async compute(key: ImageDeltaRequest): Promise<void> {
    const started = Date.now();
    const reader = new RegistryReader((ref) => this.registries.controlPlaneAccess(ref));
    const [from, to] = await Promise.all([
      reader.layers(key.from, platformOfRequest(key.architecture)),
      reader.layers(key.to, platformOfRequest(key.architecture)),
    ]);
    const planned = pairLayers(from.layers, to.layers, MIN_DELTA_BYTES);
    const scratch = await this.store.scratch();
    try {
      const layers: DeltaLayer[] = [];
      for (const layer of planned) {
        if (layer.source !== 'delta') {
          layers.push(layer);
          continue;
        }
        const base = from.layers.find((l) => l.diffId === layer.base)!;
        const baseTar = join(scratch, 'base.tar');
        const targetTar = join(scratch, 'target.tar');
        await reader.layerTar(key.from, base, baseTar);
        await reader.layerTar(key.to, layer, targetTar);
        const { digest, bytes } = await this.store.create(baseTar, targetTar, scratch);
        // A patch no smaller than the blob it replaces is not worth a device's trouble.
        if (bytes.length >= layer.blob.size) {
          layers.push({ diffId: layer.diffId, blob: layer.blob, source: 'full' });
          continue;
        }
        await this.deltas.storeFile(digest, bytes);
        layers.push({ ...layer, delta: { digest, size: bytes.length } });
      }
      await this.deltas.finish(key, { manifest: to.manifest, layers, ...deltaTotals(layers) });
      this.logger.log(`delta ${key.from} → ${key.to} (${key.architecture}) ready in ${Date.now() - started} ms`);
    } finally {
      await this.store.remove(scratch);
    }
  }
}

function parseRequest(input: unknown): ImageDeltaRequest {
  const parsed = ImageDeltaRequest.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidDeltaRequestError(`${issue.path.join('.') || 'request'}: ${issue.message} (give from, to and architecture)`);
  }
  // One key per platform whatever its spelling: agents before variants ask for `arm`, which is arm/v7.
  return { ...parsed.data, architecture: normalRequest(parsed.data.architecture) };
}

function keyOf(key: ImageDeltaRequest): string {
  return `${key.from} ${key.to} ${key.architecture}`;
}
