import { fstabWithoutBaseMounts } from './base-rootfs';

describe('fstabWithoutBaseMounts', () => {
  it("drops a stock Raspberry Pi OS image's root and boot mounts and keeps the rest", () => {
    const stock = [
      'proc            /proc           proc    defaults          0       0',
      'PARTUUID=4e639091-01  /boot/firmware  vfat    defaults          0       2',
      'PARTUUID=4e639091-02  /               ext4    defaults,noatime  0       1',
      '# a swapfile is not a swap partition, no using swapon|off from here on, use  dphys-swapfile swap[on|off]  for that',
      'tmpfs /var/log tmpfs defaults 0 0',
      '',
    ].join('\n');
    expect(fstabWithoutBaseMounts(stock)).toBe(
      [
        'proc            /proc           proc    defaults          0       0',
        '# a swapfile is not a swap partition, no using swapon|off from here on, use  dphys-swapfile swap[on|off]  for that',
        'tmpfs /var/log tmpfs defaults 0 0',
        '',
      ].join('\n'),
    );
  });

  it('leaves an fstab without those mounts as it was', () => {
    expect(fstabWithoutBaseMounts('')).toBe('');
    expect(fstabWithoutBaseMounts('LABEL=data /data ext4 defaults 0 2\n')).toBe('LABEL=data /data ext4 defaults 0 2\n');
  });
});
