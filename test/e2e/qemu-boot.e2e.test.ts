import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileBackend } from '../../agent/src/os-update/backends/file';
import { buildImage } from '../../control-plane/src/images/build-image';
import { formatExt4 } from '../../control-plane/src/images/ext4';
import { readFatFile, writeFatFiles } from '../../control-plane/src/images/fat';
import type { PlacedPartition } from '../../control-plane/src/images/layout';
import { TEST_APT_CACHE, testProvisioning } from '../integration/images/fixtures';
import { guestKit } from './qemu/guest-kit';
import { bootQemu } from './qemu/run-qemu';

// Boots the qemu-arm64-virt image built by `flotilla image build` under
// qemu-system-aarch64 -M virt (Debian's arm64 kernel, a busybox initramfs playing the
// `file` backend's boot stage), and switches OS slots with the agent's FileBackend.
jest.setTimeout(400_000);

const BOOT_LIMIT_MS = 90_000;
const MARKER = /FLOTILLA-BOOT slot=(\w) version=(\S+) token=(\S+) arch=(\S+) compatible=(\S+)/;

describe('qemu-arm64-virt image under QEMU', () => {
  let dir: string;
  let image: string;
  let kernel: string;
  let initrd: string;
  let boot: PlacedPartition;
  const provisioning = testProvisioning('qemu-token-0123456789abcdef');
  const bootTimes: number[] = [];
  let lastOutput = '';

  beforeAll(async () => {
    execFileSync('qemu-system-aarch64', ['--version']); // installed by test/setup/ensure-services.sh (qemu-system-arm)
    dir = mkdtempSync(join(tmpdir(), 'flotilla-qemu-'));
    const kit = await guestKit(TEST_APT_CACHE);
    kernel = kit.kernel;
    initrd = join(dir, 'initrd.cpio');
    writeFileSync(initrd, kit.initramfs);

    image = join(dir, 'device.img');
    const built = await buildImage({
      board: 'qemu-arm64-virt',
      fleet: 'ci',
      provisioning,
      output: image,
      osVersion: '1.0.0',
      nodeRuntime: { kind: 'debian', aptCacheDir: TEST_APT_CACHE },
    });
    boot = built.layout.partitions.find((p) => p.role === 'boot')!;
    // What the agent's slot writer would have streamed into slot B: an OS of version 2.0.0.
    const rootB = built.layout.partitions.find((p) => p.role === 'rootB')!;
    const staging = join(dir, 'rootB');
    mkdirSync(join(staging, 'etc', 'flotilla'), { recursive: true });
    writeFileSync(join(staging, 'etc', 'flotilla', 'os-release'), 'FLOTILLA_OS_VERSION=2.0.0\n');
    await formatExt4(image, rootB, {
      label: 'rootB',
      uuid: '6f1c2d3e-4b5a-4c6d-8e7f-8091a2b3c4d5',
      epoch: 1_704_067_200,
      contents: staging,
    });
  });
  afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

  const bootOnce = async (append?: string) => {
    const run = await bootQemu({ kernel, initrd, disk: image, timeoutMs: BOOT_LIMIT_MS, marker: MARKER, append });
    const match = MARKER.exec(run.output);
    if (!match || run.output.includes('FLOTILLA-ERROR') || !run.output.includes('FLOTILLA-POWEROFF'))
      throw new Error(`the guest did not reach its marker:\n${run.output.slice(-3000)}`);
    bootTimes.push(run.markerMs!);
    lastOutput = run.output;
    return { slot: match[1], version: match[2], token: match[3], arch: match[4], compatible: match[5] };
  };

  /** Runs the agent's FileBackend against the slot file on the image's boot partition. */
  const onSlotFile = async (act: (backend: FileBackend) => Promise<void>) => {
    const local = join(dir, 'bootslot');
    rmSync(local, { force: true });
    const current = await readFatFile(image, boot.offset, 'flotilla/bootslot').catch(() => undefined);
    if (current) writeFileSync(local, current);
    await act(new FileBackend(local));
    await writeFatFiles(image, boot.offset, [{ path: 'flotilla/bootslot', content: readFileSync(local) }], 1_704_067_200);
  };

  it('boots slot A with the provisioning of the image, on aarch64 virt', async () => {
    expect(await bootOnce('flotilla.node=1')).toEqual({
      slot: 'A',
      version: '1.0.0',
      token: provisioning.token,
      arch: 'aarch64',
      compatible: 'linux,dummy-virt',
    });
    // Debian's arm64 Node from root A runs, and so does the bundled agent on it.
    expect(lastOutput).toMatch(/FLOTILLA-NODE arch=arm64 version=v18\./);
    expect(lastOutput).toContain('FLOTILLA-AGENT "code":"provisioning-file-invalid"');
  });

  it('boots an armed trial of slot B once, then falls back to A when it was not committed', async () => {
    await onSlotFile((b) => b.armTrial('B'));
    expect(await bootOnce()).toMatchObject({ slot: 'B', version: '2.0.0' });
    await onSlotFile(async (b) => expect(await b.status()).toEqual({ booted: 'B', committed: 'A', inTrial: true }));
    // No commit: the next boot is the fallback.
    expect(await bootOnce()).toMatchObject({ slot: 'A', version: '1.0.0' });
  });

  it('keeps slot B after the trial is committed', async () => {
    await onSlotFile((b) => b.armTrial('B'));
    expect(await bootOnce()).toMatchObject({ slot: 'B' });
    await onSlotFile((b) => b.commit());
    expect(await bootOnce()).toMatchObject({ slot: 'B', version: '2.0.0' });
    console.log(`QEMU boots, power-on to marker (ms): ${bootTimes.join(', ')}`);
    expect(Math.max(...bootTimes)).toBeLessThan(BOOT_LIMIT_MS);
  });
});
