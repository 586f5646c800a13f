import { mkdtemp, open, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '../../../control-plane/src/images/build-image';
import { readExt4File } from '../../../control-plane/src/images/ext4';
import { extractRootfs } from '../../../control-plane/src/images/extract-rootfs';
import { readFatFile } from '../../../control-plane/src/images/fat';
import { planLayout } from '../../../control-plane/src/images/layout';
import { loadBoardSpec } from '../../../control-plane/src/images/board-specs';
import { runTool } from '../../../control-plane/src/images/tools';
import { testProvisioning } from './fixtures';

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
  await runTool('mcopy', ['-i', drive, join(dir, 'config.txt'), join(dir, 'start4.elf'), '::/']);
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

  it('image build --rootfs moves the firmware to the FAT partition, writes its own cmdline and fstab, and keeps the rest', async () => {
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
    const boot = layout.partitions.find((p) => p.role === 'boot')!.offset;
    const rootA = layout.partitions.find((p) => p.role === 'rootA')!.offset;

    expect((await readFatFile(image, boot, 'config.txt')).toString()).toBe('arm_64bit=1\n');
    expect((await readFatFile(image, boot, 'start4.elf')).equals(Buffer.alloc(4096, 7))).toBe(true);
    expect((await readFatFile(image, boot, 'overlays/vc4-kms-v3d.dtbo')).length).toBe(512);
    const cmdline = (await readFatFile(image, boot, 'cmdline.txt')).toString();
    expect(cmdline).toMatch(/root=PARTUUID=[0-9a-f]{8}-02 rootfstype=ext4 rw /);
    expect(cmdline).not.toContain('firstboot');
    expect(JSON.parse((await readFatFile(image, boot, 'flotilla/provisioning.json')).toString())).toMatchObject({
      board: 'raspberrypi4-64',
    });

    const fstab = (await readExt4File(image, rootA, '/etc/fstab')).toString();
    expect(fstab).toContain('proc /proc proc defaults 0 0');
    expect(fstab).not.toContain('PARTUUID=4e639091');
    expect(fstab).toContain('LABEL=FLOTBOOT /boot/firmware vfat');
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
