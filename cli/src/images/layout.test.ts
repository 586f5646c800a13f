import { planLayout, sfdiskScript } from './layout';
import { testBoard } from './testing/board-spec';

const spec = testBoard;

const MiB = 1024 * 1024;

describe('image layout', () => {
  it('places partitions on 1 MiB boundaries and lets "rest" fill the image', () => {
    const layout = planLayout(spec());
    expect(layout.partitions.map((p) => [p.number, p.offset / MiB, p.size / MiB])).toEqual([
      [1, 1, 64],
      [2, 65, 512],
      [3, 577, 512],
      [4, 1089, 191],
    ]);
  });

  it('keeps the GPT backup header clear of the last partition', () => {
    const layout = planLayout(spec({ partitionTable: 'gpt' }));
    expect(layout.partitions[3].size / MiB).toBe(190);
  });

  it('refuses an image size the fixed partitions do not fit in', () => {
    expect(() => planLayout(spec({ imageSize: '1000MiB' }))).toThrow(expect.objectContaining({ code: 'layout-too-small' }));
  });

  it('writes an sfdisk script with fixed identifiers', () => {
    const script = sfdiskScript(planLayout(spec()), { diskId: 'a1b2c3d4e5', partUuid: () => 'x' });
    expect(script).toContain('label-id: 0xa1b2c3d4');
    expect(script).toContain('start=2048, size=131072, type=c, bootable');
    expect(script).toContain('start=2230272, size=391168, type=83');
  });
});
