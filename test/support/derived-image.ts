import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

/**
 * Test images made from origin's by changing files in one layer, pushed to the local registry
 * over its HTTP API (no engine involved, so nothing is cached by the engine under test). The
 * same change gives the same digests, so a rerun finds the image already there.
 */

const MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

/** origin's image of `component` for linux/amd64, pinned by its platform manifest digest. */
export function originImage(component: string): string {
  const images = JSON.parse(readFileSync(join(__dirname, '..', '..', 'assemblies', 'origin', '.images.json'), 'utf8')) as {
    components: Record<string, { platforms: Record<string, { image: string }> }>;
  };
  return images.components[component]!.platforms['linux/amd64']!.image;
}

export interface LayerChange {
  /** Index of the layer in the image. */
  layer: number;
  /** Path of a regular file in that layer (as in the tar, without a leading slash) and what to append to it. */
  file: string;
  append: string;
}

export interface DerivedImage {
  ref: string;
  configDigest: string;
  diffIds: string[];
}

/** Pushes `ref` with `change` applied; answers the new image pinned by digest. */
export async function deriveImage(ref: string, change: LayerChange, tag: string): Promise<DerivedImage> {
  const match = /^([^/]+)\/(.+)@(sha256:[0-9a-f]{64})$/.exec(ref)!;
  const base = `http://${match[1]}/v2/${match[2]}`;
  const manifest = (await (await fetch(`${base}/manifests/${match[3]}`, { headers: { accept: MANIFEST } })).json()) as {
    config: { digest: string; size: number };
    layers: { digest: string; size: number }[];
  };
  const config = (await (await fetch(`${base}/blobs/${manifest.config.digest}`)).json()) as { rootfs: { diff_ids: string[] } };
  const blob = Buffer.from(await (await fetch(`${base}/blobs/${manifest.layers[change.layer]!.digest}`)).arrayBuffer());
  const tar = appendToEntry(gunzipSync(blob), change.file, change.append);
  const gz = gzipSync(tar, { level: 6 });
  config.rootfs.diff_ids[change.layer] = digestOf(tar);
  const configBytes = Buffer.from(JSON.stringify(config));
  await pushBlob(base, gz);
  await pushBlob(base, configBytes);
  manifest.layers[change.layer] = { ...manifest.layers[change.layer]!, digest: digestOf(gz), size: gz.length };
  manifest.config = { ...manifest.config, digest: digestOf(configBytes), size: configBytes.length };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const put = await fetch(`${base}/manifests/${tag}`, { method: 'PUT', headers: { 'content-type': MANIFEST }, body: manifestBytes });
  if (put.status !== 201) throw new Error(`pushing the manifest answered ${put.status}: ${await put.text()}`);
  return {
    ref: `${match[1]}/${match[2]}@${digestOf(manifestBytes)}`,
    configDigest: digestOf(configBytes),
    diffIds: config.rootfs.diff_ids,
  };
}

export function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

async function pushBlob(base: string, bytes: Buffer): Promise<void> {
  const digest = digestOf(bytes);
  if ((await fetch(`${base}/blobs/${digest}`, { method: 'HEAD' })).status === 200) return;
  const started = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
  const location = new URL(started.headers.get('location')!, base);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
  if (put.status !== 201) throw new Error(`pushing blob ${digest} answered ${put.status}`);
}

/** The tar with `text` appended to the regular file `name` (its header's size and checksum rewritten). */
function appendToEntry(tar: Buffer, name: string, text: string): Buffer {
  const parts: Buffer[] = [];
  let found = false;
  for (let at = 0; at + 512 <= tar.length;) {
    const header = Buffer.from(tar.subarray(at, at + 512));
    if (header.every((b) => b === 0)) {
      parts.push(tar.subarray(at));
      break;
    }
    const size = parseInt(header.subarray(124, 136).toString().replace(/\0.*$/s, '').trim() || '0', 8);
    const entryName = header.subarray(0, 100).toString().replace(/\0.*$/s, '').replace(/^\.\//, '');
    let data = tar.subarray(at + 512, at + 512 + size);
    if (entryName === name) {
      found = true;
      data = Buffer.concat([data, Buffer.from(text)]);
      header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
      header.write('        ', 148);
      header.write(
        `${header
          .reduce((s, b) => s + b, 0)
          .toString(8)
          .padStart(6, '0')}\0 `,
        148,
      );
    }
    parts.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  if (!found) throw new Error(`no file ${name} in the layer`);
  return Buffer.concat(parts);
}
