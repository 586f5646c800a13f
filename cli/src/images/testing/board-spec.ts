import { BoardSpec } from '@flotilla/shared';

/** A four-partition arm64 board (boot, rootA, rootB, data) for tests of image code; `overrides` replace its fields. */
export function testBoard(overrides: Partial<BoardSpec> = {}): BoardSpec {
  return BoardSpec.parse({
    name: 'b',
    description: 'd',
    arch: 'arm64',
    soc: 's',
    boot: { backend: 'file', cmdline: 'root={root}' },
    partitionTable: 'mbr',
    partitions: [
      { role: 'boot', label: 'BOOT', fs: 'vfat', size: '64MiB' },
      { role: 'rootA', label: 'rootA', fs: 'ext4', size: '512MiB' },
      { role: 'rootB', label: 'rootB', fs: 'ext4', size: '512MiB' },
      { role: 'data', label: 'data', fs: 'ext4', size: 'rest' },
    ],
    imageSize: '1280MiB',
    probes: [],
    ...overrides,
  });
}
