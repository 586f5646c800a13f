import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBootPartition, findRootPartition, readPartitionTable } from './partition-table';
import { silentProgress, type Progress } from './progress';
import { BOOT_MOUNT } from './root-files';
import { runTool } from './tools';

export const ROOTFS_STAGES = 4;

/**
 * `flotilla image rootfs`: a stock image (e.g. Raspberry Pi OS Lite) as the root file system
 * tarball `image build --rootfs` takes: the Linux partition's files (debugfs rdump) with
 * the FAT boot partition's files under /boot/firmware (mtools), where the board mounts it.
 * Like the rest of the image tools: no mount, no loop device. Run it as root so owners
 * and modes survive (debugfs restores them only for a privileged user).
 */
export async function extractRootfs(options: { image: string; output: string; progress?: Progress }): Promise<void> {
  const progress = options.progress ?? silentProgress;
  progress.stage(`partition table of ${options.image}`);
  const partitions = await readPartitionTable(options.image);
  const boot = findBootPartition(partitions, options.image);
  const root = findRootPartition(partitions, options.image);
  const work = await mkdtemp(join(tmpdir(), 'flotilla-rootfs-'));
  const partial = `${options.output}.partial`;
  try {
    progress.stage(`root partition ${root.number} (debugfs rdump)`);
    const tree = join(work, 'root');
    await mkdir(tree);
    await runTool('debugfs', ['-R', `rdump / ${tree}`, `${options.image}?offset=${root.offset}`]);
    await rm(join(tree, 'lost+found'), { recursive: true, force: true });

    progress.stage(`boot partition ${boot.number} into ${BOOT_MOUNT} (mtools)`);
    const firmware = join(tree, BOOT_MOUNT);
    await mkdir(firmware, { recursive: true });
    const drive = `${options.image}@@${boot.offset}`;
    const { stdout } = await runTool('mdir', ['-b', '-i', drive, '::/'], { env: { MTOOLS_SKIP_CHECK: '1' } });
    if (stdout.toString().trim())
      await runTool('mcopy', ['-s', '-m', '-n', '-i', drive, '::/*', firmware], { env: { MTOOLS_SKIP_CHECK: '1' } });

    progress.stage('tarball');
    await runTool('tar', ['-c', '--numeric-owner', '--sort=name', '-f', partial, '-C', tree, ...(await readdir(tree)).sort()]);
    await rename(partial, options.output);
    progress.done(`${options.output}: the root of ${options.image} with its boot files under ${BOOT_MOUNT}`);
  } catch (e) {
    await rm(partial, { force: true });
    throw e;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
