import type { DeltaLayer } from '@flotilla/shared';

export interface LayerRef {
  diffId: string;
  blob: { digest: string; size: number };
}

export type PlannedLayer = Omit<DeltaLayer, 'delta'>;

/**
 * Which layer of `from` each layer of `to` is patched from. A layer `from` already has is held
 * (nothing to send). A changed layer is patched from the layer of `from` at the same position
 * (image builds append layers in the same order, so the same position holds the same role:
 * base, dependencies, application), else from `from`'s last layer; a layer too small for a
 * patch to pay (below `minDeltaBytes` compressed) is sent whole.
 */
export function pairLayers(from: readonly LayerRef[], to: readonly LayerRef[], minDeltaBytes: number): PlannedLayer[] {
  const held = new Set(from.map((l) => l.diffId));
  return to.map((layer, i) => {
    if (held.has(layer.diffId)) return { diffId: layer.diffId, blob: layer.blob, source: 'held' };
    const base = from[i] ?? from.at(-1);
    if (!base || layer.blob.size < minDeltaBytes) return { diffId: layer.diffId, blob: layer.blob, source: 'full' };
    return { diffId: layer.diffId, blob: layer.blob, source: 'delta', base: base.diffId };
  });
}

/** Bytes a device downloads for the layers of `to`: with the deltas, and with a full pull. */
export function deltaTotals(layers: readonly DeltaLayer[]): { deltaBytes: number; fullBytes: number } {
  let deltaBytes = 0;
  let fullBytes = 0;
  for (const l of layers) {
    if (l.source === 'held') continue;
    fullBytes += l.blob.size;
    deltaBytes += l.source === 'delta' ? l.delta!.size : l.blob.size;
  }
  return { deltaBytes, fullBytes };
}
