import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import {
  answerChallenge,
  formatPlatform,
  parseChallenge,
  parseImageRef,
  pickPlatform,
  type Platform,
  type PlatformFields,
  type RegistryAuth,
} from '@flotilla/shared';
import type { LayerRef } from './layer-pairing';
import { DeltaSourceError } from './deltas.errors';

const LIST_TYPES = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json'];
const MANIFEST_TYPES = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'];

export interface ImageLayers {
  /** The platform manifest's digest (the one the engine records for this architecture). */
  manifest: string;
  layers: LayerRef[];
}

interface Descriptor {
  digest: string;
  size: number;
  platform?: PlatformFields;
}

/**
 * Reads images from their registry for the delta computation (control plane side, over `fetch`):
 * every manifest, config and blob is checked against the digest it was asked by, so a delta is
 * only ever made from the exact bytes a release names.
 */
export class RegistryReader {
  private readonly authorization = new Map<string, string>();

  constructor(private readonly accessFor: (ref: string) => Promise<RegistryAuth | undefined>) {}

  /** The layers of `ref` for `platform`: a list is resolved to the entry the engine pulls there (platform.ts). */
  async layers(ref: string, platform: Platform): Promise<ImageLayers> {
    const image = this.parse(ref);
    let digest = image.digest;
    let manifest = await this.json(ref, `manifests/${digest}`, [...LIST_TYPES, ...MANIFEST_TYPES].join(', '), digest);
    const list = manifest as { manifests?: Descriptor[] };
    if (list.manifests) {
      const mine = pickPlatform(list.manifests, platform);
      if (!mine) throw new DeltaSourceError(`${ref} has no image for ${formatPlatform(platform)}`);
      digest = mine.digest;
      manifest = await this.json(ref, `manifests/${digest}`, MANIFEST_TYPES.join(', '), digest);
    }
    const { config, layers } = manifest as { config?: Descriptor; layers?: Descriptor[] };
    if (!config || !layers) throw new DeltaSourceError(`${ref}: the manifest names no config or layers`);
    const diffIds = ((await this.json(ref, `blobs/${config.digest}`, '*/*', config.digest)) as { rootfs?: { diff_ids?: string[] } }).rootfs
      ?.diff_ids;
    if (!diffIds || diffIds.length !== layers.length) throw new DeltaSourceError(`${ref}: the config's diff_ids do not match its layers`);
    return { manifest: digest, layers: layers.map((l, i) => ({ diffId: diffIds[i]!, blob: { digest: l.digest, size: l.size } })) };
  }

  /** Downloads a layer's blob and writes it uncompressed to `file`; both digests are checked. */
  async layerTar(ref: string, layer: LayerRef, file: string): Promise<void> {
    const res = await this.get(ref, `blobs/${layer.blob.digest}`, '*/*');
    if (!res.body) throw new DeltaSourceError(`${ref}: blob ${layer.blob.digest} has no body`);
    const blobHash = createHash('sha256');
    const tarHash = createHash('sha256');
    const tap = (hash: ReturnType<typeof createHash>) =>
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      });
    await pipeline(Readable.fromWeb(res.body as never), tap(blobHash), createGunzip(), tap(tarHash), createWriteStream(file));
    const blob = `sha256:${blobHash.digest('hex')}`;
    const tar = `sha256:${tarHash.digest('hex')}`;
    if (blob !== layer.blob.digest || tar !== layer.diffId)
      throw new DeltaSourceError(`${ref}: layer ${layer.blob.digest} read as ${blob} (uncompressed ${tar}, expected ${layer.diffId})`);
  }

  private parse(ref: string): { host: string; repository: string; digest: string } {
    const image = parseImageRef(ref);
    if (!image) throw new DeltaSourceError(`${ref} is not an image pinned by digest with a registry host`);
    return image;
  }

  private async json(ref: string, path: string, accept: string, digest: string): Promise<unknown> {
    const res = await this.get(ref, path, accept);
    const body = Buffer.from(await res.arrayBuffer());
    const actual = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    if (actual !== digest) throw new DeltaSourceError(`${ref}: ${path} has digest ${actual}`);
    return JSON.parse(body.toString('utf8'));
  }

  private async get(ref: string, path: string, accept: string): Promise<Response> {
    const image = this.parse(ref);
    const scheme = /^(127\.|localhost(:|$))/.test(image.host) ? 'http' : 'https';
    const url = `${scheme}://${image.host}/v2/${image.repository}/${path}`;
    const key = `${image.host}/${image.repository}`;
    const request = () => {
      const authorization = this.authorization.get(key);
      return fetch(url, { headers: { accept, ...(authorization ? { authorization } : {}) }, signal: AbortSignal.timeout(300_000) });
    };
    let res = await request();
    const challenge = res.status === 401 ? parseChallenge(res.headers.get('www-authenticate')) : undefined;
    const auth = challenge && (await this.accessFor(ref));
    if (challenge && auth) {
      const authorization = await answerChallenge(challenge, auth, image.repository, fetch, 10_000);
      if (authorization) {
        this.authorization.set(key, authorization);
        res = await request();
      }
    }
    if (!res.ok) throw new DeltaSourceError(`GET ${url} answered ${res.status}`);
    return res;
  }
}
