import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DEVICE_DELTA_PATH,
  ImageDelta,
  deviceDeltaBlobPath,
  formatPlatform,
  imageRepository,
  pickPlatform,
  requestOfPlatform,
  type Platform,
  type PlatformFields,
  type RegistryAuth,
} from '@flotilla/shared/device';
import type { Clock } from '../support/clock';
import { errorMessage } from '../support/errors';
import type { Logger } from '../support/logger';
import { download, getBytes, getResponse, smallBody } from './delta-http';
import type { EngineImages } from './engine-images';
import { DeltaUnusableError } from './errors';
import { RegistryBlobs } from './registry-blobs';
import { savedLayers } from './saved-image';
import { writeTar } from './tar';
import { roomFor, zstdPatch } from './zstd-patch';

const MANIFEST_TYPES = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';
const INDEX_TYPES = 'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json';

export interface DeltaFetcherOptions {
  /** The control plane's HTTP API and the device's own credentials for it. */
  apiUrl: string;
  deviceId: string;
  password: string;
  /** The device's pinned CAs (provisioning `caCertificates`): the control plane and registries over https must chain to one. */
  ca: readonly string[] | undefined;
  images: EngineImages;
  /** Scratch space for the layers being rebuilt (removed after each image). */
  workDir: string;
  /** Free disk that must remain while layers are rebuilt there (FLOTILLA_DISK_RESERVE_BYTES). */
  reserveBytes: number;
  clock: Clock;
  logger: Logger;
  /** How long to wait for the control plane to compute a delta no one asked for before (default 2 min). */
  waitMs?: number;
  pollMs?: number;
}

export interface DeltaContext {
  /** Images the device holds (the active slot's): a delta starts from one of the same repository. */
  held: readonly string[];
  /** The engine's platform: the delta is for the list entry the engine would pull. */
  platform: Platform;
  auth: RegistryAuth | undefined;
  signal: AbortSignal;
  onEvent: (kind: 'update-delta-applied' | 'update-delta-fallback', message: string) => void;
}

/**
 * Before FETCH pulls an image: rebuilds it from binary layer deltas against an image the device
 * holds, and loads it into the engine. Every rebuilt layer must hash to the diff_id in the
 * image's own config, and the config to the digest in the release's manifest (read from the
 * registry, checked against the digest the release pins): the engine then holds exactly the
 * release's image, and the pull that follows fetches only its manifest (the engine finds the
 * config and so all layers present). Anything else (no delta, a failed or corrupt one) ends in
 * an event and the ordinary full pull.
 */
export class DeltaFetcher {
  constructor(private readonly options: DeltaFetcherOptions) {}

  async prepare(image: string, context: DeltaContext): Promise<void> {
    const from = context.held.find((h) => h !== image && imageRepository(h) === imageRepository(image));
    if (!from) return; // nothing of this repository on the device to patch from
    const scratch = join(this.options.workDir, randomUUID());
    try {
      await mkdir(scratch, { recursive: true });
      const delta = await this.plan(from, image, context);
      if (!delta) return;
      const downloaded = await this.rebuild(from, image, delta, scratch, context);
      context.onEvent(
        'update-delta-applied',
        `${image} rebuilt from deltas against ${from}: downloaded ${downloaded} bytes instead of ${delta.fullBytes} for a full pull`,
      );
    } catch (err) {
      if (context.signal.aborted) return;
      this.options.logger.warn('delta not used, pulling the whole image', { image, error: errorMessage(err) });
      context.onEvent('update-delta-fallback', `${image}: delta not used (${errorMessage(err)}); pulling the whole image`);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /** The control plane's delta, once computed; undefined when it is not worth using. */
  private async plan(from: string, to: string, context: DeltaContext): Promise<ImageDelta | undefined> {
    const query = new URLSearchParams({ from, to, architecture: requestOfPlatform(context.platform) });
    const url = `${this.options.apiUrl.replace(/\/+$/, '')}${DEVICE_DELTA_PATH}?${query}`;
    const deadline = this.options.clock.now().getTime() + (this.options.waitMs ?? 120_000);
    for (;;) {
      const { status, body } = await getBytes(url, this.credentials(), context.signal, this.options.ca);
      if (status !== 200) throw new DeltaUnusableError(`the control plane answered HTTP ${status}: ${body.toString('utf8').slice(0, 300)}`);
      const delta = ImageDelta.parse(JSON.parse(body.toString('utf8')));
      if (delta.status === 'failed') throw new DeltaUnusableError(`the control plane could not compute it: ${delta.error}`);
      if (delta.status === 'ready') return delta.manifest && delta.layers.some((l) => l.source === 'delta') ? delta : undefined;
      if (this.options.clock.now().getTime() >= deadline) throw new DeltaUnusableError('the control plane is still computing it');
      await this.options.clock.sleep(this.options.pollMs ?? 2_000, context.signal);
      if (context.signal.aborted) throw new DeltaUnusableError('aborted');
    }
  }

  /** Rebuilds every layer of `to` and loads the image; answers the bytes downloaded. */
  private async rebuild(from: string, to: string, delta: ImageDelta, scratch: string, context: DeltaContext): Promise<number> {
    const registry = new RegistryBlobs(to, context.auth, context.signal, this.options.ca);
    // The manifest is fetched by the digest the control plane named and checked; its config by digest too.
    const indexBytes = await this.checkPinned(registry, to, delta.manifest!, context.platform);
    const manifestBytes = await this.readVerified(registry, `manifests/${delta.manifest}`, MANIFEST_TYPES, delta.manifest!);
    const manifest = JSON.parse(manifestBytes.toString('utf8')) as {
      config: { digest: string };
      layers: { digest: string; size: number }[];
    };
    const configBytes = await this.readVerified(registry, `blobs/${manifest.config.digest}`, '*/*', manifest.config.digest);
    const diffIds = (JSON.parse(configBytes.toString('utf8')) as { rootfs?: { diff_ids?: string[] } }).rootfs?.diff_ids ?? [];
    if (diffIds.join() !== delta.layers.map((l) => l.diffId).join())
      throw new DeltaUnusableError("the delta's layers are not the image's (its config names other diff_ids)");
    // The blobs and sizes a full layer is downloaded by are the verified manifest's, not only the plan's.
    const stranger = delta.layers.findIndex(
      (l, i) => manifest.layers[i]?.digest !== l.blob.digest || manifest.layers[i]?.size !== l.blob.size,
    );
    if (stranger >= 0 || manifest.layers.length !== delta.layers.length)
      throw new DeltaUnusableError(
        `the delta's layers are not the manifest's (${stranger >= 0 ? `layer ${stranger}: another blob or size` : 'another count'})`,
      );
    let downloaded = indexBytes + manifestBytes.length + configBytes.length;

    const saved = join(scratch, 'held.tar');
    await this.options.images.save(from, saved);
    const held = await savedLayers(saved, scratch);
    await rm(saved);

    const layers: { name: string; path: string }[] = [];
    for (const [i, layer] of delta.layers.entries()) {
      const path = join(scratch, `layer-${i}.tar`);
      if (layer.source === 'held') {
        const have = held.get(layer.diffId);
        if (!have) throw new DeltaUnusableError(`layer ${layer.diffId} is not in ${from} as the engine holds it`);
        layers.push({ name: `${i}.tar`, path: have });
        continue;
      }
      if (layer.source === 'full') {
        const got = await download(await registry.get(`blobs/${layer.blob.digest}`, '*/*'), path, true, layer.blob.size);
        downloaded += got.bytes;
        if (got.sent !== layer.blob.digest || got.written !== layer.diffId)
          throw new DeltaUnusableError(`layer ${layer.blob.digest} read back wrong`);
      } else {
        const base = held.get(layer.base!);
        if (!base) throw new DeltaUnusableError(`the delta's base layer ${layer.base} is not in ${from} as the engine holds it`);
        const patch = join(scratch, `delta-${i}.zst`);
        const url = `${this.options.apiUrl.replace(/\/+$/, '')}${deviceDeltaBlobPath(layer.delta!.digest)}`;
        const res = await getResponse(url, this.credentials(), context.signal, this.options.ca);
        const got = await download(res, patch, false, layer.delta!.size);
        downloaded += got.bytes;
        if (got.sent !== layer.delta!.digest) throw new DeltaUnusableError(`delta ${layer.delta!.digest} arrived as ${got.sent}: corrupt`);
        await zstdPatch(base, patch, path, await roomFor(scratch, this.options.reserveBytes));
        const rebuilt = await sha256File(path);
        if (rebuilt !== layer.diffId) throw new DeltaUnusableError(`layer rebuilt as ${rebuilt}, the release's is ${layer.diffId}`);
      }
      layers.push({ name: `${i}.tar`, path });
    }
    const configName = `${manifest.config.digest.slice('sha256:'.length)}.json`;
    await writeFile(join(scratch, configName), configBytes);
    await writeFile(
      join(scratch, 'manifest.json'),
      JSON.stringify([{ Config: configName, RepoTags: null, Layers: layers.map((l) => l.name) }]),
    );
    const archive = join(scratch, 'image.tar');
    await writeTar(archive, [
      { name: 'manifest.json', path: join(scratch, 'manifest.json') },
      { name: configName, path: join(scratch, configName) },
      ...layers,
    ]);
    await this.options.images.load(archive);
    if (!(await this.options.images.has(manifest.config.digest))) throw new DeltaUnusableError('the engine does not hold the loaded image');
    return downloaded;
  }

  /**
   * The plan's platform manifest must be the one the release pins, or one the index it pins lists
   * as the entry the engine pulls on this platform (platform.ts): the plan is not signed, the release
   * is, and a delta to another entry (arm/v6 for an arm/v7 device) would load an image the pull
   * then passes by. Answers the bytes read.
   */
  private async checkPinned(registry: RegistryBlobs, to: string, manifest: string, platform: Platform): Promise<number> {
    const pinned = to.slice(to.lastIndexOf('@') + 1);
    if (pinned === manifest) return 0;
    const body = await this.readVerified(registry, `manifests/${pinned}`, `${INDEX_TYPES}, ${MANIFEST_TYPES}`, pinned);
    const index = JSON.parse(body.toString('utf8')) as { manifests?: { digest?: string; platform?: PlatformFields }[] };
    if (pickPlatform(index.manifests ?? [], platform)?.digest !== manifest)
      throw new DeltaUnusableError(`the delta's manifest ${manifest} is not the release's image ${to} for ${formatPlatform(platform)}`);
    return body.length;
  }

  private async readVerified(registry: RegistryBlobs, path: string, accept: string, digest: string): Promise<Buffer> {
    const res = await registry.get(path, accept);
    if (res.statusCode !== 200) {
      res.resume();
      throw new DeltaUnusableError(`registry ${path}: HTTP ${res.statusCode}`);
    }
    const body = await smallBody(res, `registry ${path}`);
    const actual = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    if (actual !== digest) throw new DeltaUnusableError(`registry ${path} has digest ${actual}`);
    return body;
  }

  private credentials(): Record<string, string> {
    return { authorization: `Basic ${Buffer.from(`${this.options.deviceId}:${this.options.password}`).toString('base64')}` };
  }
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}
