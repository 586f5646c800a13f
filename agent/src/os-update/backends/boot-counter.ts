import { BootBackendError, otherSlot, type BootSlotBackend, type BootStatus, type OsSlot } from '../boot-slot-backend';

/**
 * The A/B contract both GRUB and U-Boot boards follow (Mender-style variables):
 *   boot_slot          A or B: the slot the boot script starts
 *   upgrade_available  1 while a trial runs; the boot script counts boots in `bootcount`
 *                      and, past its limit, switches boot_slot back and clears this
 * Subclasses say only how their variable store is read and written.
 */
export abstract class BootCounterBackend implements BootSlotBackend {
  abstract readonly kind: 'grub' | 'uboot';

  protected abstract readVars(): Promise<ReadonlyMap<string, string>>;
  protected abstract update(change: (vars: Map<string, string>) => void): Promise<void>;
  /** Where the variables live, for error messages. */
  protected abstract readonly where: string;
  /** Variables a trial needs besides the slot ones (U-Boot's bootlimit). */
  protected armExtras(_vars: Map<string, string>): void {}

  async status(): Promise<BootStatus> {
    const vars = await this.readVars();
    const booted = this.slotOf(vars.get('boot_slot'));
    const inTrial = vars.get('upgrade_available') === '1';
    return { booted, committed: inTrial ? otherSlot(booted) : booted, inTrial };
  }

  async armTrial(slot: OsSlot): Promise<void> {
    const status = await this.status();
    if (status.inTrial)
      throw new BootBackendError('trial-running', `a trial of slot ${status.booted} runs now: commit it or let it fall back first`);
    await this.update((vars) => {
      vars.set('boot_slot', slot);
      vars.set('upgrade_available', '1');
      vars.set('bootcount', '0');
      this.armExtras(vars);
    });
  }

  async disarm(): Promise<void> {
    const status = await this.status();
    if (!status.inTrial) return;
    await this.update((vars) => {
      vars.set('boot_slot', status.committed);
      vars.set('upgrade_available', '0');
      vars.set('bootcount', '0');
    });
  }

  async commit(): Promise<void> {
    await this.update((vars) => {
      vars.set('upgrade_available', '0');
      vars.set('bootcount', '0');
    });
  }

  rebootCommand(): readonly string[] {
    return ['reboot'];
  }

  private slotOf(value: string | undefined): OsSlot {
    // No boot_slot yet: the boot script's default, slot A.
    if (value === undefined || value === '' || value === 'A') return 'A';
    if (value === 'B') return 'B';
    throw new BootBackendError(`${this.kind}-env-invalid`, `boot_slot="${value}" in ${this.where}: expected A or B`);
  }
}
