import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DeltaUnusableError } from './errors';
import { extractEntry, listTar } from './tar';

/** Largest `manifest.json` of an image export read: a few hundred bytes a layer. */
const MAX_MANIFEST_BYTES = 1024 * 1024;

/**
 * The layers of an engine's image export (`docker save` of one image), each copied out to
 * `scratch` and keyed by its digest (the layer's `diff_id`). Which entries are layers is what the
 * export's `manifest.json` says: `<id>/layer.tar` up to Docker 24, `blobs/sha256/<hex>` (the OCI
 * layout) from Docker 25, so a device's engine of either kind can be patched from.
 */
export async function savedLayers(saved: string, scratch: string): Promise<Map<string, string>> {
  const entries = await listTar(saved);
  const manifestEntry = entries.find((e) => e.name === 'manifest.json');
  if (!manifestEntry) throw new DeltaUnusableError(`${saved}: the engine's export has no manifest.json`);
  if (manifestEntry.size > MAX_MANIFEST_BYTES)
    throw new DeltaUnusableError(
      `${saved}: its manifest.json has ${manifestEntry.size} bytes, more than an export's (${MAX_MANIFEST_BYTES})`,
    );
  const manifestPath = join(scratch, 'saved-manifest.json');
  await extractEntry(saved, manifestEntry, manifestPath);
  const layerNames = layersOf(await readFile(manifestPath, 'utf8'), saved);
  await rm(manifestPath);
  const held = new Map<string, string>();
  for (const name of layerNames) {
    const entry = entries.find((e) => e.name === name);
    if (!entry) throw new DeltaUnusableError(`${saved}: its manifest.json names the layer ${name}, which it does not hold as a file`);
    const path = join(scratch, `held-${held.size}.tar`);
    held.set(await extractEntry(saved, entry, path), path);
  }
  return held;
}

function layersOf(text: string, saved: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new DeltaUnusableError(`${saved}: its manifest.json is not JSON (${(e as Error).message})`);
  }
  const layers = Array.isArray(parsed) ? (parsed[0] as { Layers?: unknown } | undefined)?.Layers : undefined;
  if (!Array.isArray(layers) || !layers.every((l): l is string => typeof l === 'string'))
    throw new DeltaUnusableError(`${saved}: its manifest.json lists no layers`);
  return layers;
}
