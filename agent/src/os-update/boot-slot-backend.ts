/**
 * How the agent drives a board's bootloader for OS A/B updates. One implementation per
 * `boot.backend` of the board spec (firmware-specs/): `rpi-tryboot`, `uboot`, `grub`, `file`.
 *
 * The contract every backend keeps:
 * - `armTrial(slot)` makes the NEXT boot, and only that one (or a bounded number, per the
 *   bootloader's counter), start `slot`; any boot after that returns to the committed slot
 *   unless `commit()` ran first. A board that hangs or crashes in the trial therefore
 *   falls back by itself.
 * - `commit()` makes the slot booted now the default.
 * - `status()` says what the bootloader did for the current boot.
 */
export const OS_SLOTS = ['A', 'B'] as const;
export type OsSlot = (typeof OS_SLOTS)[number];

export const otherSlot = (slot: OsSlot): OsSlot => (slot === 'A' ? 'B' : 'A');

export interface BootStatus {
  /** The slot running now. */
  booted: OsSlot;
  /** The slot the bootloader starts when no trial is armed. */
  committed: OsSlot;
  /** This boot is an uncommitted trial of `booted`. */
  inTrial: boolean;
}

export interface BootSlotBackend {
  readonly kind: 'rpi-tryboot' | 'uboot' | 'grub' | 'file';
  status(): Promise<BootStatus>;
  /** Arms a one-time trial boot of `slot`. */
  armTrial(slot: OsSlot): Promise<void>;
  /** Takes back an armed trial that has not been booted yet (the write was abandoned). */
  disarm(): Promise<void>;
  /** Makes the booted slot the committed one and ends the trial. */
  commit(): Promise<void>;
  /** The command that reboots into an armed trial (argv; the caller runs it). */
  rebootCommand(): readonly string[];
}

export class BootBackendError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'BootBackendError';
  }
}
