import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BoardSpec } from '@flotilla/shared';
import { backendForBoard, slotPartitionNumber } from './backend-for-board';

const spec = (name: string) =>
  BoardSpec.parse(parse(readFileSync(join(__dirname, '..', '..', '..', 'firmware-specs', `${name}.yaml`), 'utf8')));

describe('backend for a board spec', () => {
  it.each([
    ['uboot-arm64-generic', 'uboot'],
    ['qemu-arm64-virt', 'file'],
  ])('%s → %s', (board, kind) => {
    expect(backendForBoard(spec(board), { bootMount: '/boot/firmware' }).kind).toBe(kind);
  });

  it('switches the per-slot FAT partitions of the Raspberry Pi specs with tryboot', () => {
    for (const board of ['raspberrypi4-64', 'raspberrypi5']) {
      const pi = spec(board);
      expect(backendForBoard(pi, { bootMount: '/b' }).kind).toBe('rpi-tryboot');
      expect(slotPartitionNumber(pi, 'A')).toBe(4);
      const withoutSlotBoots = { ...pi, partitions: pi.partitions.filter((p) => p.role !== 'bootA' && p.role !== 'bootB') };
      expect(() => backendForBoard(withoutSlotBoots, { bootMount: '/b' })).toThrow(/one per slot/);
    }
  });

  it('numbers root slots as the layout does', () => {
    expect([slotPartitionNumber(spec('qemu-arm64-virt'), 'A'), slotPartitionNumber(spec('qemu-arm64-virt'), 'B')]).toEqual([2, 3]);
  });

  it('needs boot.env for U-Boot', () => {
    const board = spec('uboot-arm64-generic');
    expect(() => backendForBoard({ ...board, boot: { ...board.boot, env: undefined } }, { bootMount: '/b' })).toThrow(/has no boot.env/);
  });
});
