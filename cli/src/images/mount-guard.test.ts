import { mountConflicts, parseMountinfo } from './mount-guard';

const MOUNTINFO = [
  '26 1 179:2 / / rw,relatime - ext4 /dev/mmcblk0p2 rw',
  '27 26 179:1 / /boot/firmware rw,relatime - vfat /dev/mmcblk0p1 rw',
  '28 26 8:17 / /media/pi/My\\040Card rw,relatime - vfat /dev/sdb1 rw',
  '29 26 0:22 / /run rw - tmpfs tmpfs rw',
].join('\n');

describe('mount guard', () => {
  const mounts = parseMountinfo(MOUNTINFO);

  it('reads devices, mount points (unescaped) and sources from mountinfo', () => {
    expect(mounts[2]).toEqual({ device: '8:17', mountPoint: '/media/pi/My Card', source: '/dev/sdb1' });
  });

  it('refuses the disk holding the running system through its partitions', () => {
    const disk = { path: '/dev/mmcblk0', realPath: '/dev/mmcblk0', devices: new Set(['179:0', '179:1', '179:2']) };
    expect(mountConflicts(disk, mounts)).toEqual([
      'it holds the running system (mounted at /, device 179:2)',
      '/dev/mmcblk0p1 (device 179:1) is mounted at /boot/firmware',
    ]);
  });

  it('refuses a card with a mounted partition, by device number or by path', () => {
    expect(mountConflicts({ path: '/dev/sdb', realPath: '/dev/sdb', devices: new Set(['8:16', '8:17']) }, mounts)).toHaveLength(1);
    expect(mountConflicts({ path: '/dev/disk/by-label/x', realPath: '/dev/sdb1', devices: new Set() }, mounts)).toHaveLength(1);
  });

  it('lets an unmounted card through', () => {
    expect(mountConflicts({ path: '/dev/sdc', realPath: '/dev/sdc', devices: new Set(['8:32', '8:33']) }, mounts)).toEqual([]);
  });
});
