import { BoardSpec } from '@flotilla/shared';
import { bootSelection, missingBootFiles, readConfigTxt, withWatchdog } from './rpi-boot';

const pi4 = BoardSpec.parse({
  name: 'pi4',
  description: 'test',
  arch: 'arm64',
  soc: 'BCM2711',
  boot: { backend: 'file', cmdline: 'root={root}', firmware: { kernel: 'kernel8.img', required: ['start4.elf', 'bcm2711-rpi-4-b.dtb'] } },
  partitionTable: 'mbr',
  partitions: [
    { role: 'boot', label: 'boot', fs: 'vfat', size: '64MiB' },
    { role: 'rootA', label: 'a', fs: 'ext4', size: '64MiB' },
    { role: 'rootB', label: 'b', fs: 'ext4', size: '64MiB' },
    { role: 'data', label: 'data', fs: 'ext4', size: '64MiB' },
  ],
  probes: [],
});

describe('config.txt as the Raspberry Pi firmware reads it', () => {
  const text = [
    '# comment',
    'kernel=vmlinuz',
    '[pi5]',
    'kernel=pi5-kernel',
    '[pi4]',
    'os_prefix=slot/',
    '[tryboot]',
    'kernel=trial-kernel',
    '[all]',
    'initramfs initrd.img followkernel',
    'cmdline=cmd.txt',
  ].join('\n');

  it('applies [all], the board model filter and [tryboot] only when the flag is set, later lines winning', () => {
    const normal = readConfigTxt(text, { soc: 'BCM2711', tryboot: false });
    expect(bootSelection(pi4, normal)).toMatchObject({ kernel: 'slot/vmlinuz', initramfs: 'slot/initrd.img', cmdline: 'slot/cmd.txt' });
    const trial = readConfigTxt(text, { soc: 'BCM2711', tryboot: true });
    expect(bootSelection(pi4, trial).kernel).toBe('slot/trial-kernel');
    expect(readConfigTxt(text, { soc: 'BCM2712', tryboot: false }).get('kernel')).toBe('pi5-kernel');
  });

  it('falls back to the board default kernel and cmdline.txt', () => {
    expect(bootSelection(pi4, readConfigTxt('arm_64bit=1\n', { soc: 'BCM2711', tryboot: false }))).toMatchObject({
      kernel: 'kernel8.img',
      cmdline: 'cmdline.txt',
    });
  });

  it('names what a slot lacks: firmware, device tree, the kernel and initramfs config.txt points at', () => {
    expect(missingBootFiles(pi4, new Set(), undefined)).toEqual(['start4.elf', 'bcm2711-rpi-4-b.dtb', 'kernel8.img']);
    expect(missingBootFiles(pi4, new Set(['start4.elf', 'bcm2711-rpi-4-b.dtb', 'kernel8.img']), 'initramfs initrd.img\n')).toEqual([
      'initrd.img',
    ]);
    expect(missingBootFiles(pi4, new Set(['start4.elf', 'bcm2711-rpi-4-b.dtb', 'kernel8.img']), undefined)).toEqual([]);
  });

  it('adds the watchdog once', () => {
    const once = withWatchdog('arm_64bit=1');
    expect(once).toMatch(/^arm_64bit=1\n[\s\S]*\[all\]\ndtparam=watchdog=on\n$/);
    expect(withWatchdog(once)).toBe(once);
  });
});
