import { join } from 'node:path';
import { slotCmdline, type BoardSpec } from '@flotilla/shared/device';
import { BootBackendError, type BootSlotBackend, type OsSlot } from './boot-slot-backend';
import { FileBackend } from './backends/file';
import { GrubBackend } from './backends/grub';
import { RpiTrybootBackend } from './backends/rpi-tryboot';
import { MountingSlotBootWriter } from './backends/rpi-slot-boot';
import { UbootBackend } from './backends/uboot';

/** Where the `file` backend keeps its slot file on the boot partition (read by the image's boot stage). */
export const SLOT_FILE_ON_BOOT = 'flotilla/bootslot';

export interface BoardPaths {
  /** Where the boot partition is mounted (the image's fstab: /boot/firmware). */
  bootMount: string;
  /** /proc/device-tree, for the Raspberry Pi firmware's tryboot flags. */
  deviceTreeRoot?: string;
  /** /dev path of partition `n` of the disk the OS runs from (needed by backends that write boot partitions). */
  partitionDevice?(n: number): string;
  /** Empty directory for temporary mounts (rpi-tryboot: the new root and the slot's boot partition). */
  mountDir?: string;
}

/** 1-based number of the partition with `role` in the board's layout (0 when the spec has none). */
export function partitionNumber(spec: BoardSpec, role: BoardSpec['partitions'][number]['role']): number {
  return spec.partitions.findIndex((p) => p.role === role) + 1;
}

/** 1-based partition number of a root slot in the board's layout (rootA → A). */
export function slotPartitionNumber(spec: BoardSpec, slot: OsSlot): number {
  return partitionNumber(spec, slot === 'A' ? 'rootA' : 'rootB');
}

/** The backend the board spec names, wired to the files it manages. */
export function backendForBoard(spec: BoardSpec, paths: BoardPaths): BootSlotBackend {
  switch (spec.boot.backend) {
    case 'rpi-tryboot': {
      const boot = { A: partitionNumber(spec, 'bootA'), B: partitionNumber(spec, 'bootB') };
      if (!boot.A || !boot.B)
        throw new BootBackendError(
          'board-spec-incomplete',
          `board ${spec.name}: tryboot_a_b switches between FAT boot partitions, one per slot; its spec needs bootA and bootB partitions`,
        );
      const device = paths.partitionDevice;
      return new RpiTrybootBackend({
        // The `boot` partition (bootconfig) is mounted at bootMount: it holds autoboot.txt.
        autobootPath: join(paths.bootMount, 'autoboot.txt'),
        partitions: boot,
        deviceTreeRoot: paths.deviceTreeRoot,
        slotBoot: device
          ? new MountingSlotBootWriter({
              rootDevice: (slot) => device(slotPartitionNumber(spec, slot)),
              bootDevice: (slot) => device(boot[slot]),
              cmdline: (slot) => slotCmdline(spec, slot),
              workDir: paths.mountDir ?? '/run/flotilla/os-update-mnt',
            })
          : undefined,
      });
    }
    case 'uboot': {
      const env = spec.boot.env;
      if (!env)
        throw new BootBackendError('board-spec-incomplete', `board ${spec.name} uses U-Boot but its spec has no boot.env (path and size)`);
      return new UbootBackend(join(paths.bootMount, env.path), { size: env.size, redundant: env.redundant });
    }
    case 'grub':
      return new GrubBackend(join(paths.bootMount, spec.boot.env?.path ?? 'grub/grubenv'));
    case 'file':
      return new FileBackend(join(paths.bootMount, SLOT_FILE_ON_BOOT));
  }
}
