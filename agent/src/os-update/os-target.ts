import type { Release } from '@flotilla/shared/device';
import type { OsImageTarget } from './os-update-plan';

/**
 * Which OS image, if any, the committed release asks this board to install: the entry
 * for the board, unless the running OS already has that version. `undefined` also when
 * the device does not know its board (no OS update can be right then).
 */
export function osImageFor(
  release: Release | null | undefined,
  board: string | undefined,
  runningVersion: string | null,
): OsImageTarget | undefined {
  if (!release || !board) return undefined;
  const entry = release.assembly.os?.find((o) => o.board === board);
  if (!entry || entry.version === runningVersion) return undefined;
  return { version: entry.version, sha256: entry.sha256, size: entry.size, url: entry.url, releaseId: release.id };
}

/** /dev name of partition `n` on `disk`: mmcblk0 → mmcblk0p3, nvme0n1 → nvme0n1p3, vda → vda3. */
export function partitionDevice(disk: string, n: number): string {
  return `/dev/${disk}${/\d$/.test(disk) ? 'p' : ''}${n}`;
}

/** Major and minor of a Linux dev_t as Node's stat() gives it (glibc's gnu_dev_major/minor). */
export function splitDevT(dev: number): { major: number; minor: number } {
  const big = BigInt(dev);
  const major = Number(((big >> 8n) & 0xfffn) | ((big >> 32n) & ~0xfffn));
  const minor = Number((big & 0xffn) | ((big >> 12n) & ~0xffn));
  return { major, minor };
}
