import { findBootPartition, findRootPartition, parsePartitionTable } from './partition-table';

// What `sfdisk --json` prints for a Raspberry Pi OS image.
const RASPIOS = JSON.stringify({
  partitiontable: {
    label: 'dos',
    id: '0x3a6cdbe2',
    device: 'raspios.img',
    unit: 'sectors',
    sectorsize: 512,
    partitions: [
      { node: 'raspios.img1', start: 8192, size: 1048576, type: 'c' },
      { node: 'raspios.img2', start: 1056768, size: 4587520, type: '83' },
    ],
  },
});

describe('partition table of an existing image', () => {
  const parts = parsePartitionTable(RASPIOS, 'raspios.img');

  it('gives byte offsets and sizes', () => {
    expect(parts).toEqual([
      { number: 1, offset: 8192 * 512, size: 1048576 * 512, type: 'c' },
      { number: 2, offset: 1056768 * 512, size: 4587520 * 512, type: '83' },
    ]);
  });

  it('finds the FAT boot partition and the Linux root', () => {
    expect(findBootPartition(parts, 'x').number).toBe(1);
    expect(findRootPartition(parts, 'x').number).toBe(2);
  });

  it('finds an EFI system partition on GPT', () => {
    const gpt = [{ number: 1, offset: 0, size: 1, type: 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b' }];
    expect(findBootPartition(gpt, 'x').number).toBe(1);
  });

  it('says what it saw when there is no FAT partition', () => {
    expect(() => findBootPartition([{ number: 1, offset: 0, size: 1, type: '83' }], 'disk.img')).toThrow(
      'disk.img has no FAT partition (types seen: 83)',
    );
  });
});
