import { join } from 'node:path';
import type { BoardSpec } from '@flotilla/shared';
import { BootBackendError, type BootSlotBackend, type OsSlot } from './boot-slot-backend';
import { FileBackend } from './backends/file';
import { GrubBackend } from './backends/grub';
import { RpiTrybootBackend } from './backends/rpi-tryboot';
import { UbootBackend } from './backends/uboot';

/** Where the `file` backend keeps its slot file on the boot partition (read by the image's boot stage). */
export const SLOT_FILE_ON_BOOT = 'flotilla/bootslot';

export interface BoardPaths {
  /** Where the boot partition is mounted (the image's fstab: /boot/firmware). */
  bootMount: string;
  /** /proc/device-tree, for the Raspberry Pi firmware's tryboot flags. */
  deviceTreeRoot?: string;
  /**
   * The FAT partition holding each slot's firmware, kernel and config.txt, which
   * autoboot.txt's boot_partition names. The board specs do not have per-slot boot
   * partitions yet (one FAT `boot` partition), so the caller must say.
   */
  rpiBootPartitions?: Record<OsSlot, number>;
}

/** 1-based partition number of a root slot in the board's layout (rootA → A). */
export function slotPartitionNumber(spec: BoardSpec, slot: OsSlot): number {
  return spec.partitions.findIndex((p) => p.role === (slot === 'A' ? 'rootA' : 'rootB')) + 1;
}

/** The backend the board spec names, wired to the files it manages. */
export function backendForBoard(spec: BoardSpec, paths: BoardPaths): BootSlotBackend {
  switch (spec.boot.backend) {
    case 'rpi-tryboot':
      if (!paths.rpiBootPartitions)
        throw new BootBackendError(
          'board-spec-incomplete',
          `board ${spec.name}: tryboot_a_b switches between FAT boot partitions, one per slot; give rpiBootPartitions (the spec has a single boot partition)`,
        );
      return new RpiTrybootBackend({
        autobootPath: join(paths.bootMount, 'autoboot.txt'),
        partitions: paths.rpiBootPartitions,
        deviceTreeRoot: paths.deviceTreeRoot,
      });
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
