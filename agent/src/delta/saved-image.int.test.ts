import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { savedLayers } from './saved-image';
import { writeTar } from './tar';

// Integration (tar files in a temporary directory): the layers of an engine's export are found by
// its manifest.json, in the layout of Docker up to 24 and in the OCI layout Docker 25 writes.

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'flotilla-saved-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const digest = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** An export holding `files` (name → bytes), written as `docker save` lays it out. */
async function exportOf(files: Record<string, Buffer | string>): Promise<string> {
  const entries = Object.entries(files).map(([name, bytes], i) => {
    const path = join(dir, `in-${i}`);
    writeFileSync(path, bytes);
    return { name, path };
  });
  const saved = join(dir, 'saved.tar');
  await writeTar(saved, entries);
  return saved;
}

const layers = [randomBytes(3000), randomBytes(700)];

it('finds the layers of a Docker 24 export (<id>/layer.tar)', async () => {
  const saved = await exportOf({
    'manifest.json': JSON.stringify([{ Config: 'c.json', RepoTags: null, Layers: ['aaa/layer.tar', 'bbb/layer.tar'] }]),
    'c.json': '{}',
    'aaa/layer.tar': layers[0]!,
    'aaa/json': '{}',
    'bbb/layer.tar': layers[1]!,
  });
  const held = await savedLayers(saved, dir);
  expect([...held.keys()]).toEqual(layers.map(digest));
  expect(readFileSync(held.get(digest(layers[1]!))!).equals(layers[1]!)).toBe(true);
});

it('finds the layers of a Docker 25 export (the OCI layout, blobs/sha256/<hex>)', async () => {
  const blob = (b: Buffer) => `blobs/sha256/${digest(b).slice('sha256:'.length)}`;
  const saved = await exportOf({
    'blobs/sha256/cafe': '{}',
    [blob(layers[0]!)]: layers[0]!,
    [blob(layers[1]!)]: layers[1]!,
    'index.json': '{"schemaVersion":2,"manifests":[]}',
    'manifest.json': JSON.stringify([{ Config: 'blobs/sha256/cafe', RepoTags: null, Layers: layers.map(blob) }]),
    'oci-layout': '{"imageLayoutVersion":"1.0.0"}',
  });
  const held = await savedLayers(saved, dir);
  expect([...held.keys()]).toEqual(layers.map(digest));
});

it('refuses an export without a manifest.json, or one naming a layer it does not hold', async () => {
  await expect(savedLayers(await exportOf({ 'aaa/layer.tar': layers[0]! }), dir)).rejects.toMatchObject({
    code: 'delta-unusable',
    message: expect.stringContaining('no manifest.json'),
  });
  const missing = await exportOf({ 'manifest.json': JSON.stringify([{ Layers: ['aaa/layer.tar'] }]) });
  await expect(savedLayers(missing, dir)).rejects.toMatchObject({ message: expect.stringContaining('names the layer aaa/layer.tar') });
  const garbled = await exportOf({ 'manifest.json': 'not json' });
  await expect(savedLayers(garbled, dir)).rejects.toMatchObject({ message: expect.stringContaining('not JSON') });
});
