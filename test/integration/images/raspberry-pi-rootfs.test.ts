import { mkdtemp, open, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '../../../cli/src/images/build-image';
import { buildOsImage } from '../../../cli/src/images/build-os-image';
import { readExt4File } from '../../../cli/src/images/ext4';
import { extractRootfs } from '../../../cli/src/images/extract-rootfs';
import { readFatFile } from '../../../cli/src/images/fat';
import { planLayout } from '../../../cli/src/images/layout';
import { loadBoardSpec } from '../../../cli/src/images/board-specs';
import { runTool } from '../../../cli/src/images/tools';
import { testProvisioning } from './fixtures';
import { firmwareChoice } from '../../e2e/qemu/rpi-firmware';

// The README's "Flash a Raspberry Pi" path on a stand-in for Raspberry Pi OS Lite (MBR,
// FAT32 bootfs with firmware files and overlays, ext4 rootfs with a PARTUUID fstab):
// `image rootfs` turns it into a tarball, `image build --rootfs` into an A/B Flotilla image.
jest.setTimeout(120_000);

const MiB = 1024 * 1024;
const BOOT_START = 8192;
const ROOT_START = 139264;

async function stockRaspiosImage(dir: string): Promise<string> {
  const path = join(dir, 'raspios-lite.img');
  const file = await open(path, 'w');
  await file.truncate(200 * MiB);
  await file.close();
  await runTool('sfdisk', ['--quiet', path], {
    input: `label: dos\nunit: sectors\n\nstart=${BOOT_START}, size=131072, type=c\nstart=${ROOT_START}, type=83\n`,
  });
  const rootTree = join(dir, 'stock-root');
  await mkdir(join(rootTree, 'etc'), { recursive: true });
  await mkdir(join(rootTree, 'boot', 'firmware'), { recursive: true });
  await mkdir(join(rootTree, 'usr', 'lib', 'systemd'), { recursive: true });
  await writeFile(
    join(rootTree, 'etc', 'fstab'),
    'proc /proc proc defaults 0 0\nPARTUUID=4e639091-01 /boot/firmware vfat defaults 0 2\nPARTUUID=4e639091-02 / ext4 defaults,noatime 0 1\n',
  );
  await writeFile(join(rootTree, 'usr', 'lib', 'systemd', 'systemd'), '#!/bin/sh\n');
  await runTool('mkfs.vfat', ['-F', '32', '-s', '1', '-n', 'bootfs', `--offset=${BOOT_START}`, path, String(65536)]);
  const drive = `${path}@@${BOOT_START * 512}`;
  await writeFile(join(dir, 'config.txt'), 'arm_64bit=1\n');
  await writeFile(join(dir, 'start4.elf'), Buffer.alloc(4096, 7));
  await writeFile(join(dir, 'stock-cmdline.txt'), 'console=tty1 root=PARTUUID=4e639091-02 init=/usr/lib/raspberrypi-sys-mods/firstboot\n');
  await writeFile(join(dir, 'vc4-kms-v3d.dtbo'), Buffer.alloc(512, 3));
  await writeFile(join(dir, 'fixup4.dat'), Buffer.alloc(256, 1));
  await writeFile(join(dir, 'bcm2711-rpi-4-b.dtb'), Buffer.alloc(256, 2));
  await writeFile(join(dir, 'kernel8.img'), Buffer.alloc(8192, 9));
  await runTool('mcopy', [
    '-i',
    drive,
    ...['config.txt', 'start4.elf', 'fixup4.dat', 'bcm2711-rpi-4-b.dtb', 'kernel8.img'].map((f) => join(dir, f)),
    '::/',
  ]);
  await runTool('mcopy', ['-i', drive, join(dir, 'stock-cmdline.txt'), '::/cmdline.txt']);
  await runTool('mmd', ['-i', drive, '::/overlays']);
  await runTool('mcopy', ['-i', drive, join(dir, 'vc4-kms-v3d.dtbo'), '::/overlays/']);
  await runTool('mkfs.ext4', [
    '-q',
    '-F',
    '-L',
    'rootfs',
    '-d',
    rootTree,
    '-E',
    `offset=${ROOT_START * 512}`,
    path,
    `${(200 * MiB - ROOT_START * 512) / 1024}k`,
  ]);
  return path;
}

describe('a Raspberry Pi image from a stock Raspberry Pi OS image', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-raspi-test-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('image rootfs keeps the root and puts the boot partition under /boot/firmware', async () => {
    const stock = await stockRaspiosImage(dir);
    const tar = join(dir, 'raspios-rootfs.tar');
    await extractRootfs({ image: stock, output: tar });
    const { stdout } = await runTool('tar', ['-tf', tar]);
    const entries = stdout.toString().split('\n');
    expect(entries).toEqual(
      expect.arrayContaining([
        'etc/fstab',
        'usr/lib/systemd/systemd',
        'boot/firmware/config.txt',
        'boot/firmware/start4.elf',
        'boot/firmware/overlays/vc4-kms-v3d.dtbo',
      ]),
    );
    expect(entries.some((e) => e.startsWith('lost+found'))).toBe(false);
  });

  it('refuses a Raspberry Pi image without firmware, kernel and device tree, and says what to pass', async () => {
    const output = join(dir, 'no-firmware.img');
    for (const board of ['raspberrypi4-64', 'raspberrypi5']) {
      const refused = buildImage({
        board,
        fleet: 'greenhouses',
        provisioning: testProvisioning('raspi-token-0123456789abcdef'),
        output,
        nodeRuntime: { kind: 'none' },
      });
      await expect(refused).rejects.toMatchObject({ code: 'boot-files-missing' });
      await expect(refused).rejects.toThrow(
        board === 'raspberrypi5'
          ? /bcm2712-rpi-5-b\.dtb, kernel_2712\.img/
          : /start4\.elf, fixup4\.dat, bcm2711-rpi-4-b\.dtb, kernel8\.img/,
      );
      await expect(refused).rejects.toThrow(/--rootfs ROOT\.tar .*or --boot-files DIR/);
    }
    await expect(stat(output)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(`${output}.partial`)).rejects.toMatchObject({ code: 'ENOENT' });
    // An OS image for a Pi carries its slot's boot files too: the agent copies them to the slot.
    await expect(
      buildOsImage({ board: 'raspberrypi5', osVersion: '2.0.0', output: join(dir, 'os.img'), nodeRuntime: { kind: 'none' } }),
    ).rejects.toMatchObject({ code: 'boot-files-missing' });
  });

  it('image build --rootfs lays out tryboot A/B: autoboot.txt on bootconfig, the firmware on boot_a with its cmdline and watchdog, boot_b empty', async () => {
    const tar = join(dir, 'raspios-rootfs.tar');
    const image = join(dir, 'pi4.img');
    const provisioning = testProvisioning('raspi-token-0123456789abcdef');
    await buildImage({
      board: 'raspberrypi4-64',
      fleet: 'greenhouses',
      provisioning: { ...provisioning, board: undefined },
      output: image,
      rootfsTar: tar,
      nodeRuntime: { kind: 'none' },
    });
    const layout = planLayout(await loadBoardSpec('raspberrypi4-64'));
    const at = (role: string) => layout.partitions.find((p) => p.role === role)!.offset;
    const [boot, bootA, bootB, rootA] = [at('boot'), at('bootA'), at('bootB'), at('rootA')];

    const table = JSON.parse((await runTool('sfdisk', ['--json', image])).stdout.toString()).partitiontable;
    expect(table.label).toBe('gpt');
    expect(table.partitions.map((p: { name: string }) => p.name)).toEqual([
      'bootconfig',
      'boot_a',
      'boot_b',
      'system_a',
      'system_b',
      'data',
    ]);
    expect((await readFatFile(image, boot, 'autoboot.txt')).toString()).toBe(
      '[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3\n',
    );
    expect(JSON.parse((await readFatFile(image, boot, 'flotilla/provisioning.json')).toString())).toMatchObject({
      board: 'raspberrypi4-64',
    });
    const config = (await readFatFile(image, bootA, 'config.txt')).toString();
    expect(config.startsWith('arm_64bit=1\n')).toBe(true);
    expect(config).toMatch(/^\[all\]\ndtparam=watchdog=on$/m);
    expect((await readFatFile(image, bootA, 'start4.elf')).equals(Buffer.alloc(4096, 7))).toBe(true);
    expect((await readFatFile(image, bootA, 'kernel8.img')).length).toBe(8192);
    expect((await readFatFile(image, bootA, 'overlays/vc4-kms-v3d.dtbo')).length).toBe(512);
    const cmdline = (await readFatFile(image, bootA, 'cmdline.txt')).toString();
    expect(cmdline).toMatch(/root=PARTLABEL=system_a rootfstype=ext4 rw /);
    expect(cmdline).not.toContain('firstboot');
    const { stdout: bootBFiles } = await runTool('mdir', ['-b', '-i', `${image}@@${bootB}`, '::/'], { env: { MTOOLS_SKIP_CHECK: '1' } });
    expect(bootBFiles.toString().trim()).toBe('');

    // What the firmware would boot (the QEMU harness's reading of autoboot.txt and config.txt):
    // boot_a normally; boot_b on a tryboot, which holds nothing until an OS update fills it.
    const spec = await loadBoardSpec('raspberrypi4-64');
    const normal = await firmwareChoice(image, spec, false);
    expect(normal).toMatchObject({ partition: 2, tryboot: false, cmdline: expect.stringContaining('root=PARTLABEL=system_a ') });
    expect(normal.kernel.equals(Buffer.alloc(8192, 9))).toBe(true);
    await expect(firmwareChoice(image, spec, true)).rejects.toThrow(/no kernel kernel8\.img on partition 3/);

    const fstab = (await readExt4File(image, rootA, '/etc/fstab')).toString();
    expect(fstab).toContain('proc /proc proc defaults 0 0');
    expect(fstab).not.toContain('PARTUUID=4e639091');
    expect(fstab).toContain('LABEL=BOOTCONFIG /boot/firmware vfat');
    // …which is the FAT label the bootconfig partition has.
    const { stdout: fatLabel } = await runTool('mlabel', ['-s', '-i', `${image}@@${boot}`, '::'], { env: { MTOOLS_SKIP_CHECK: '1' } });
    expect(fatLabel.toString()).toContain('BOOTCONFIG');
    expect(fstab).toContain('LABEL=data /data ext4');
    expect((await readExt4File(image, rootA, '/usr/lib/systemd/systemd')).toString()).toBe('#!/bin/sh\n');
    expect(JSON.parse((await readExt4File(image, rootA, '/etc/flotilla/board.json')).toString())).toMatchObject({
      name: 'raspberrypi4-64',
      boot: { backend: 'rpi-tryboot' },
    });
    // The firmware lives on the FAT partition only; the root keeps the empty mount point.
    const { stdout } = await runTool('debugfs', ['-R', 'ls -p /boot/firmware', `${image}?offset=${rootA}`]);
    expect(
      stdout
        .toString()
        .trim()
        .split('\n')
        .map((l) => l.split('/')[5])
        .filter((n) => n && n !== '.' && n !== '..'),
    ).toEqual([]);
  });
});
