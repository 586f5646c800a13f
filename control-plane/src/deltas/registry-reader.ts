import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
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
import { MAX_REGISTRY_JSON_BYTES, readWithin } from '../registries/bounded-fetch';
import type { LayerRef } from './layer-pairing';
import { DeltaSourceError, DeltaWorkshopFullError } from './deltas.errors';

const LIST_TYPES = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json'];
const MANIFEST_TYPES = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'];

export interface ImageLayers {
  /** The platform manifest's digest (the one the engine records for this architecture). */
  manifest: string;
  layers: LayerRef[];
}

/**
 * Free space a delta computation leaves on the data directory's file system: the embedded
 * PostgreSQL and the keys live there, and a layer's size is known only once it is unpacked.
 */
export const DELTA_DISK_RESERVE_BYTES = 1024 ** 3;
/** How much of a layer is written between two looks at the free space. */
const FREE_SPACE_CHECK_BYTES = 4 * 1024 ** 2;

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

  constructor(
    private readonly accessFor: (ref: string) => Promise<RegistryAuth | undefined>,
    private readonly diskReserveBytes = DELTA_DISK_RESERVE_BYTES,
  ) {}

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

  /**
   * Downloads a layer's blob and writes it uncompressed to `file`; both digests are checked. The
   * blob is cut past the size its manifest announces (a registry that sends more, or without end),
   * and the unpacked layer once the file system would keep less than the reserve (a small blob can
   * unpack to anything before its digest is known); `file` is removed then.
   */
  async layerTar(ref: string, layer: LayerRef, file: string): Promise<void> {
    const res = await this.get(ref, `blobs/${layer.blob.digest}`, '*/*');
    if (!res.body) throw new DeltaSourceError(`${ref}: blob ${layer.blob.digest} has no body`);
    const blobHash = createHash('sha256');
    const tarHash = createHash('sha256');
    let blobBytes = 0;
    let sinceCheck = FREE_SPACE_CHECK_BYTES;
    const reserve = this.diskReserveBytes;
    const blob = new Transform({
      transform(chunk: Buffer, _enc, done) {
        blobBytes += chunk.length;
        if (blobBytes > layer.blob.size)
          return done(new DeltaSourceError(`${ref}: blob ${layer.blob.digest} is longer than its ${layer.blob.size} bytes`));
        blobHash.update(chunk);
        done(null, chunk);
      },
    });
    const tar = new Transform({
      transform(chunk: Buffer, _enc, done) {
        tarHash.update(chunk);
        sinceCheck += chunk.length;
        if (sinceCheck < FREE_SPACE_CHECK_BYTES) return done(null, chunk);
        sinceCheck = 0;
        statfs(dirname(file)).then(
          (fs) =>
            fs.bavail * fs.bsize < reserve + chunk.length
              ? done(
                  new DeltaWorkshopFullError(
                    `${dirname(file)}: unpacking ${layer.blob.digest} of ${ref} would leave less than ${reserve} bytes free`,
                  ),
                )
              : done(null, chunk),
          (e: Error) => done(e),
        );
      },
    });
    try {
      await pipeline(Readable.fromWeb(res.body as never), blob, createGunzip(), tar, createWriteStream(file));
    } catch (e) {
      await rm(file, { force: true });
      throw e;
    }
    const blobDigest = `sha256:${blobHash.digest('hex')}`;
    const tarDigest = `sha256:${tarHash.digest('hex')}`;
    if (blobDigest !== layer.blob.digest || tarDigest !== layer.diffId)
      throw new DeltaSourceError(
        `${ref}: layer ${layer.blob.digest} read as ${blobDigest} (uncompressed ${tarDigest}, expected ${layer.diffId})`,
      );
  }

  private parse(ref: string): { host: string; repository: string; digest: string } {
    const image = parseImageRef(ref);
    if (!image) throw new DeltaSourceError(`${ref} is not an image pinned by digest with a registry host`);
    return image;
  }

  private async json(ref: string, path: string, accept: string, digest: string): Promise<unknown> {
    const res = await this.get(ref, path, accept);
    const body = await readWithin(
      res,
      MAX_REGISTRY_JSON_BYTES,
      () => new DeltaSourceError(`${ref}: ${path} is longer than ${MAX_REGISTRY_JSON_BYTES} bytes`),
    );
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
