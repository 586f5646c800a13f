import { open, readFile, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseAutoboot, renderAutoboot } from '@flotilla/shared/device';
import { type SlotBootWriter } from './rpi-slot-boot';
import { BootBackendError, otherSlot, type BootSlotBackend, type BootStatus, type OsSlot } from '../boot-slot-backend';

/**
 * Raspberry Pi firmware A/B through autoboot.txt (`@flotilla/shared` boards/autoboot.ts)
 * with one FAT boot partition per slot (firmware-specs/RASPBERRY-PI.md).
 *
 * The tryboot flag lasts one boot: any later reboot (or a watchdog reset in a hung trial)
 * starts [all] again, which is the fallback. The firmware tells Linux what it did in the
 * device tree: /proc/device-tree/chosen/bootloader/tryboot and …/partition, 4-byte
 * big-endian integers.
 */
export interface RpiTrybootOptions {
  autobootPath: string;
  /** Boot partition number of each slot, e.g. { A: 2, B: 3 }. */
  partitions: Record<OsSlot, number>;
  /** /proc/device-tree (injected for tests). */
  deviceTreeRoot?: string;
  /** Puts the new root's boot files on the slot's boot partition before its trial is armed. */
  slotBoot?: SlotBootWriter;
}

export class RpiTrybootBackend implements BootSlotBackend {
  readonly kind = 'rpi-tryboot';

  constructor(private readonly options: RpiTrybootOptions) {}

  private slotOfPartition(partition: number): OsSlot {
    const { A, B } = this.options.partitions;
    if (partition === A) return 'A';
    if (partition === B) return 'B';
    throw new BootBackendError(
      'autoboot-invalid',
      `boot partition ${partition} belongs to neither slot (A=${A}, B=${B}); fix ${this.options.autobootPath}`,
    );
  }

  private async committedSlot(): Promise<OsSlot> {
    const text = await readFile(this.options.autobootPath, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    if (text === undefined) return 'A';
    const config = parseAutoboot(text);
    if (config.all.get('tryboot_a_b') !== '1')
      throw new BootBackendError(
        'autoboot-invalid',
        `${this.options.autobootPath} lacks tryboot_a_b=1 in [all]: the firmware would not fall back`,
      );
    return this.slotOfPartition(Number(config.all.get('boot_partition') ?? this.options.partitions.A));
  }

  private async deviceTreeNumber(name: string): Promise<number | undefined> {
    const path = join(this.options.deviceTreeRoot ?? '/proc/device-tree', 'chosen', 'bootloader', name);
    const bytes = await readFile(path).catch(() => undefined);
    return bytes && bytes.length >= 4 ? bytes.readUInt32BE(0) : undefined;
  }

  async status(): Promise<BootStatus> {
    const committed = await this.committedSlot();
    const inTrial = (await this.deviceTreeNumber('tryboot')) === 1;
    const partition = await this.deviceTreeNumber('partition');
    const booted = partition !== undefined ? this.slotOfPartition(partition) : inTrial ? otherSlot(committed) : committed;
    return { booted, committed, inTrial: inTrial && booted !== committed };
  }

  async armTrial(slot: OsSlot): Promise<void> {
    const committed = await this.committedSlot();
    if (slot === committed) throw new BootBackendError('trial-invalid', `slot ${slot} is already the committed slot`);
    // The boot files first: [tryboot] must never name a partition whose kernel does not match its root.
    await this.options.slotBoot?.write(slot);
    await this.write(renderAutoboot(this.options.partitions[committed], this.options.partitions[slot]));
  }

  /** Nothing to take back: without `reboot "0 tryboot"` the [tryboot] section is never used. */
  async disarm(): Promise<void> {}

  async commit(): Promise<void> {
    const { booted } = await this.status();
    await this.write(renderAutoboot(this.options.partitions[booted], this.options.partitions[otherSlot(booted)]));
  }

  rebootCommand(): readonly string[] {
    return ['reboot', '0 tryboot'];
  }

  /** FAT has no atomic replace, but rename of a fully written and synced file comes closest. */
  private async write(text: string): Promise<void> {
    const path = this.options.autobootPath;
    const temp = join(dirname(path), `.${basename(path)}.new`);
    const file = await open(temp, 'w');
    try {
      await file.writeFile(text);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  }
}
