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

  it('needs the per-slot FAT partitions for Raspberry Pi tryboot', () => {
    expect(() => backendForBoard(spec('raspberrypi5'), { bootMount: '/b' })).toThrow(/one per slot/);
    expect(backendForBoard(spec('raspberrypi4-64'), { bootMount: '/b', rpiBootPartitions: { A: 2, B: 3 } }).kind).toBe('rpi-tryboot');
  });

  it('numbers root slots as the layout does', () => {
    expect([slotPartitionNumber(spec('qemu-arm64-virt'), 'A'), slotPartitionNumber(spec('qemu-arm64-virt'), 'B')]).toEqual([2, 3]);
  });

  it('needs boot.env for U-Boot', () => {
    const board = spec('uboot-arm64-generic');
    expect(() => backendForBoard({ ...board, boot: { ...board.boot, env: undefined } }, { bootMount: '/b' })).toThrow(/has no boot.env/);
  });
});
