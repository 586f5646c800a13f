import { BootBackendError } from '../boot-slot-backend';
import { readEnvFile, writeEnvBytes } from '../env-file';
import { BootCounterBackend } from './boot-counter';
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
 *
 * Only an environment U-Boot saved (or one made whole with mkenvimage) is changed, never one
 * written from nothing: U-Boot takes a valid stored environment instead of its built-in one,
 * so a file holding only these variables would leave the board without its `bootcmd`, stopped at
 * U-Boot's prompt after the first update. boot.scr saves the environment on the first boot.
 */
export class UbootBackend extends BootCounterBackend {
  readonly kind = 'uboot';

  constructor(
    private readonly envPath: string,
    private readonly layout: EnvLayout,
    private readonly options: { bootlimit?: number } = {},
  ) {
    super();
  }

  protected get where(): string {
    return `the U-Boot environment ${this.envPath}`;
  }

  private async read(): Promise<ReadEnv> {
    const bytes = await readEnvFile(this.envPath, this.layout.size * (this.layout.redundant ? 2 : 1));
    return bytes ? parseUbootEnv(bytes, this.layout) : { env: new Map(), valid: false, current: 0, flags: 0 };
  }

  protected async readVars(): Promise<UbootEnv> {
    return (await this.read()).env;
  }

  protected async update(change: (env: UbootEnv) => void): Promise<void> {
    const previous = await this.read();
    if (!previous.valid)
      throw new BootBackendError(
        'uboot-env-missing',
        `${this.where} is missing or damaged: written from nothing it would replace U-Boot's built-in environment, boot command ` +
          "included, and the board would not boot. Boot once with the image's boot.scr (it saves U-Boot's environment on the " +
          "first boot), or put back a uboot.env made with mkenvimage from the board's default environment",
      );
    const env = new Map(previous.env);
    change(env);
    const { offset, bytes } = nextEnvWrite(env, this.layout, previous);
    await writeEnvBytes(this.envPath, offset, bytes);
  }

  protected override armExtras(env: UbootEnv): void {
    if (!env.has('bootlimit')) env.set('bootlimit', String(this.options.bootlimit ?? 3));
  }
}
