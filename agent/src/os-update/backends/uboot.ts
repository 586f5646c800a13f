import { BootBackendError, otherSlot, type BootSlotBackend, type BootStatus, type OsSlot } from '../boot-slot-backend';
import { readEnvFile, writeEnvBytes } from '../env-file';
import { nextEnvWrite, parseUbootEnv, type EnvLayout, type ReadEnv, type UbootEnv } from '../uboot-env';

/**
 * U-Boot with a boot counter (doc/README.bootcount, the boot.scr that `flotilla image
 * build` writes for `uboot` boards). Variables:
 *   boot_slot          A or B: the slot boot.scr starts
 *   upgrade_available  1 while a trial runs: every boot increments bootcount
 *   bootcount          boots since the trial was armed
 *   bootlimit          past it, boot.scr switches boot_slot back and clears upgrade_available
 * The environment is a file (CONFIG_ENV_IS_IN_FAT: uboot.env on the boot partition) read
 * and written like fw_printenv / fw_setenv do, CRC and redundant copy included.
 */
export class UbootBackend implements BootSlotBackend {
  readonly kind = 'uboot';

  constructor(
    private readonly envPath: string,
    private readonly layout: EnvLayout,
    private readonly options: { bootlimit?: number } = {},
  ) {}

  private async read(): Promise<ReadEnv> {
    const bytes = await readEnvFile(this.envPath);
    return bytes ? parseUbootEnv(bytes, this.layout) : { env: new Map(), valid: false, current: 0, flags: 0 };
  }

  private async update(change: (env: UbootEnv) => void): Promise<void> {
    const previous = await this.read();
    const env = new Map(previous.env);
    change(env);
    const { offset, bytes } = nextEnvWrite(env, this.layout, previous);
    await writeEnvBytes(this.envPath, offset, bytes);
  }

  async status(): Promise<BootStatus> {
    const { env } = await this.read();
    const booted = slotOf(env.get('boot_slot'));
    const inTrial = env.get('upgrade_available') === '1';
    return { booted, committed: inTrial ? otherSlot(booted) : booted, inTrial };
  }

  async armTrial(slot: OsSlot): Promise<void> {
    const status = await this.status();
    if (status.inTrial)
      throw new BootBackendError('trial-running', `a trial of slot ${status.booted} runs now: commit it or let it fall back first`);
    await this.update((env) => {
      env.set('boot_slot', slot);
      env.set('upgrade_available', '1');
      env.set('bootcount', '0');
      if (!env.has('bootlimit')) env.set('bootlimit', String(this.options.bootlimit ?? 3));
    });
  }

  async disarm(): Promise<void> {
    const status = await this.status();
    if (!status.inTrial) return;
    await this.update((env) => {
      env.set('boot_slot', status.committed);
      env.set('upgrade_available', '0');
      env.set('bootcount', '0');
    });
  }

  async commit(): Promise<void> {
    await this.update((env) => {
      env.set('upgrade_available', '0');
      env.set('bootcount', '0');
    });
  }

  rebootCommand(): readonly string[] {
    return ['reboot'];
  }
}

function slotOf(value: string | undefined): OsSlot {
  // No boot_slot yet: boot.scr's default, slot A.
  if (value === undefined || value === '' || value === 'A') return 'A';
  if (value === 'B') return 'B';
  throw new BootBackendError('uboot-env-invalid', `boot_slot="${value}" in the U-Boot environment: expected A or B`);
}
