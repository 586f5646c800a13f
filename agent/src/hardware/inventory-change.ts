import type { Inventory } from '@flotilla/shared/device';

/** Disk usage is compared in steps of this fraction of the disk, so filling logs do not resend the inventory. */
const DISK_STEP = 0.05;

/**
 * What makes an inventory worth sending again: the hardware, the OS and the addresses, and
 * disk usage in 5 % steps; not the collection time nor temperatures, which move every minute
 * and travel as telemetry. Power flags (under-voltage, throttling) count: they are news.
 */
export function inventoryFingerprint(inventory: Inventory): string {
  const { at: _at, temperatures: _temperatures, disks, ...rest } = inventory;
  return JSON.stringify({
    ...rest,
    disks: disks.map((d) => ({ ...d, usedBytes: d.sizeBytes > 0 ? Math.round(d.usedBytes / d.sizeBytes / DISK_STEP) : 0 })),
  });
}
