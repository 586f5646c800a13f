import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BootBackendError, type OsSlot } from '../boot-slot-backend';

/**
 * A Raspberry Pi slot is a boot partition plus a root partition. The OS image the agent
 * streams is the root; it carries its own boot files (firmware, kernel, device trees,
 * initramfs, config.txt) under /boot/firmware, as a Raspberry Pi OS root does. Before a
 * trial is armed they go to the slot's boot partition, with a cmdline.txt that names the
 * slot's root, so the firmware boots the kernel that matches the root.
 */
export interface SlotBootWriter {
  write(slot: OsSlot): Promise<void>;
}

/** Where the boot files sit inside a root. */
export const ROOT_BOOT_FILES = 'boot/firmware';

/**
 * Replaces everything in `bootDir` with the files under `rootDir`/boot/firmware, then
 * writes `cmdline`. Refuses a root without boot files: the slot would never boot.
 */
export async function copySlotBootFiles(rootDir: string, bootDir: string, cmdline: string): Promise<string[]> {
  const from = join(rootDir, ROOT_BOOT_FILES);
  const names = await readdir(from).catch(() => [] as string[]);
  if (names.length === 0)
    throw new BootBackendError(
      'os-image-without-boot-files',
      `the new root has no /${ROOT_BOOT_FILES} (kernel, device trees, config.txt): build the OS image from a Raspberry Pi root (image os --rootfs) or with --boot-files`,
    );
  for (const name of await readdir(bootDir)) await rm(join(bootDir, name), { recursive: true, force: true });
  const copied: string[] = [];
  const copy = async (src: string, dst: string, path: string): Promise<void> => {
    for (const entry of await readdir(src, { withFileTypes: true })) {
      const inside = path ? `${path}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        await mkdir(join(dst, entry.name));
        await copy(join(src, entry.name), join(dst, entry.name), inside);
      } else if (entry.isFile() && inside !== 'cmdline.txt') {
        // copyFile, not cp: FAT has no modes or owners to preserve, and chmod there fails.
        await copyFile(join(src, entry.name), join(dst, entry.name));
        copied.push(inside);
      }
    }
  };
  await copy(from, bootDir, '');
  await writeFile(join(bootDir, 'cmdline.txt'), cmdline);
  return [...copied, 'cmdline.txt'];
}

export interface MountingSlotBootWriterOptions {
  rootDevice(slot: OsSlot): string;
  bootDevice(slot: OsSlot): string;
  cmdline(slot: OsSlot): string;
  /** Empty directory for the two mount points (under /run). */
  workDir: string;
  /** Runs mount(8)/umount(8)/sync(1) (injected for tests). */
  run?(argv: readonly string[]): Promise<void>;
}

const execute = async (argv: readonly string[]) => void (await promisify(execFile)(argv[0], argv.slice(1)));

/** Mounts the written root read-only and the slot's boot partition, copies, syncs, unmounts. */
export class MountingSlotBootWriter implements SlotBootWriter {
  constructor(private readonly options: MountingSlotBootWriterOptions) {}

  async write(slot: OsSlot): Promise<void> {
    const o = this.options;
    const run = o.run ?? execute;
    const root = join(o.workDir, 'root');
    const boot = join(o.workDir, 'boot');
    await mkdir(root, { recursive: true });
    await mkdir(boot, { recursive: true });
    await run(['mount', '-t', 'ext4', '-o', 'ro', o.rootDevice(slot), root]);
    try {
      await run(['mount', '-t', 'vfat', o.bootDevice(slot), boot]);
      try {
        await copySlotBootFiles(root, boot, o.cmdline(slot));
        await run(['sync']);
      } finally {
        await run(['umount', boot]);
      }
    } finally {
      await run(['umount', root]);
    }
  }
}
