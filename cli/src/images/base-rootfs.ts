import { lstat, readdir, readFile, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { FatFile } from './fat';
import { BOOT_MOUNT, PROVISIONING_PATH_ON_BOOT } from './root-files';

/**
 * What a base root file system (`--rootfs`, e.g. from `flotilla image rootfs` of a stock
 * Raspberry Pi OS image) brings for the boot partition: everything under /boot/firmware
 * (firmware, kernel, device trees, config.txt). It moves to the image's FAT partition,
 * except what the build writes itself (cmdline.txt with the slot's root, the provisioning).
 */
export async function takeBootFiles(root: string): Promise<FatFile[]> {
  const dir = join(root, BOOT_MOUNT);
  const files: FatFile[] = [];
  const walk = async (local: string, inside: string): Promise<void> => {
    for (const name of (await readdir(local).catch(() => [] as string[])).sort()) {
      const path = inside ? posix.join(inside, name) : name;
      const stat = await lstat(join(local, name));
      if (stat.isDirectory()) await walk(join(local, name), path);
      else if (stat.isFile() && path !== 'cmdline.txt' && path !== PROVISIONING_PATH_ON_BOOT)
        files.push({ path, content: await readFile(join(local, name)) });
    }
  };
  await walk(dir, '');
  // The partition is mounted over this directory on the board: copies left here would only hide.
  for (const name of await readdir(dir).catch(() => [] as string[])) await rm(join(dir, name), { recursive: true, force: true });
  return files;
}

/**
 * A base root's fstab without its own lines for `/`, `/boot` and `/boot/firmware`: they
 * name the stock image's partitions (PARTUUIDs of a disk that is not this one). The
 * kernel mounts the slot's root read-write (`rw` in the board's cmdline), and the build
 * appends the boot and data mounts by label.
 */
export function fstabWithoutBaseMounts(fstab: string): string {
  const replaced = new Set(['/', '/boot', BOOT_MOUNT]);
  return fstab
    .split('\n')
    .filter((line) => {
      const fields = line.trim().split(/\s+/);
      return line.trim().startsWith('#') || fields.length < 2 || !replaced.has(fields[1]);
    })
    .join('\n');
}
