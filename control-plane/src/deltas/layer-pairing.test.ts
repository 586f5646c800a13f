import { deltaTotals, pairLayers, type LayerRef } from './layer-pairing';

// Unit: which layer patches which, and the byte totals the dry run shows.
const layer = (n: number, size = 1_000_000): LayerRef => ({
  diffId: `sha256:${String(n).repeat(64).slice(0, 64)}`,
  blob: {
    digest: `sha256:${String(n + 5)
      .repeat(64)
      .slice(0, 64)}`,
    size,
  },
});

describe('pairLayers', () => {
  it('holds shared layers, patches a changed one from the same position, sends small ones whole', () => {
    const from = [layer(1), layer(2), layer(3)];
    const to = [layer(1), layer(4, 100), layer(6)];
    expect(pairLayers(from, to, 1024)).toEqual([
      { diffId: layer(1).diffId, blob: layer(1).blob, source: 'held' },
      { diffId: layer(4).diffId, blob: layer(4, 100).blob, source: 'full' },
      { diffId: layer(6).diffId, blob: layer(6).blob, source: 'delta', base: layer(3).diffId },
    ]);
  });

  it('patches an added layer from the last one of `from`; with no layers to patch from, sends all', () => {
    expect(pairLayers([layer(1)], [layer(1), layer(2)], 0)[1]).toMatchObject({ source: 'delta', base: layer(1).diffId });
    expect(pairLayers([], [layer(2)], 0)[0]).toMatchObject({ source: 'full' });
  });
});

describe('deltaTotals', () => {
  it('counts patches instead of the blobs they replace, and nothing for held layers', () => {
    const totals = deltaTotals([
      { ...layer(1), source: 'held' },
      { ...layer(2, 500), source: 'full' },
      { ...layer(3, 4000), source: 'delta', base: layer(1).diffId, delta: { digest: layer(1).blob.digest, size: 40 } },
    ]);
    expect(totals).toEqual({ deltaBytes: 540, fullBytes: 4500 });
  });
});
