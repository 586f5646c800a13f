import type { Release } from '@flotilla/shared';
import { osImageFor, partitionDevice, splitDevT } from './os-target';

const release = (os?: Release['assembly']['os']): Release =>
  ({
    id: '00000000-0000-4000-8000-000000000001',
    assembly: { name: 'a', version: '1.0.0', probationMs: 0, components: [], volumes: [], networks: [], ...(os ? { os } : {}) },
  }) as unknown as Release;

const image = { board: 'qemu-arm64-virt', version: '2.0.0', url: 'http://10.0.2.2/os.img', sha256: 'a'.repeat(64), size: 4096 };

describe('osImageFor', () => {
  it('picks the entry for this board when its version differs from the running OS', () => {
    expect(osImageFor(release([image]), 'qemu-arm64-virt', '1.0.0')).toEqual({
      version: '2.0.0',
      sha256: 'a'.repeat(64),
      size: 4096,
      url: 'http://10.0.2.2/os.img',
      releaseId: '00000000-0000-4000-8000-000000000001',
    });
  });

  it('asks for nothing when the OS already runs that version, the board has no entry, or the board is unknown', () => {
    expect(osImageFor(release([image]), 'qemu-arm64-virt', '2.0.0')).toBeUndefined();
    expect(osImageFor(release([image]), 'raspberrypi5', '1.0.0')).toBeUndefined();
    expect(osImageFor(release([image]), undefined, '1.0.0')).toBeUndefined();
    expect(osImageFor(release(), 'qemu-arm64-virt', '1.0.0')).toBeUndefined();
    expect(osImageFor(null, 'qemu-arm64-virt', '1.0.0')).toBeUndefined();
  });

  it('installs over an OS of unknown version', () => {
    expect(osImageFor(release([image]), 'qemu-arm64-virt', null)?.version).toBe('2.0.0');
  });
});

describe('partitionDevice', () => {
  it('follows the kernel naming of partitions', () => {
    expect(partitionDevice('vda', 3)).toBe('/dev/vda3');
    expect(partitionDevice('sda', 2)).toBe('/dev/sda2');
    expect(partitionDevice('mmcblk0', 3)).toBe('/dev/mmcblk0p3');
    expect(partitionDevice('nvme0n1', 2)).toBe('/dev/nvme0n1p2');
  });
});

describe('splitDevT', () => {
  it('splits small and large device numbers like glibc', () => {
    expect(splitDevT((254 << 8) | 2)).toEqual({ major: 254, minor: 2 });
    expect(splitDevT((179 << 8) | 3)).toEqual({ major: 179, minor: 3 });
    // major 259 (blkext), minor 300: minor bits above 8 live at bit 20.
    expect(splitDevT(((300 >> 8) << 20) | (259 << 8) | (300 & 0xff))).toEqual({ major: 259, minor: 300 });
  });
});
