import { open, readFile, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BootBackendError, type BootSlotBackend, type BootStatus, type OsSlot } from '../boot-slot-backend';

/**
 * A slot choice kept in a plain `name=value` file (shell-sourceable), for QEMU and tests:
 * the boot stage (the image's initramfs) reads it, the agent writes it.
 *
 *   active=A     committed slot
 *   trial=B      slot armed for a trial ('' when none)
 *   tries=1      trial boots left; the boot stage decrements it and boots `trial`,
 *                and at 0 clears `trial` and boots `active` (the fallback)
 *   booted=B     written by the boot stage: the slot it started
 */
export interface SlotFile {
  active: OsSlot;
  trial: OsSlot | '';
  tries: number;
  booted: OsSlot;
}

export function parseSlotFile(text: string | undefined): SlotFile {
  const values = new Map<string, string>();
  for (const line of (text ?? '').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  const slot = (name: string, fallback: OsSlot | ''): OsSlot | '' => {
    const v = values.get(name) ?? fallback;
    if (v !== 'A' && v !== 'B' && v !== '') throw new BootBackendError('slot-file-invalid', `${name}="${v}": expected A, B or empty`);
    return v;
  };
  const active = slot('active', 'A') || 'A';
  return { active, trial: slot('trial', ''), tries: Number(values.get('tries') ?? 0) || 0, booted: slot('booted', active) || active };
}

export function renderSlotFile(file: SlotFile): string {
  return `active=${file.active}\ntrial=${file.trial}\ntries=${file.tries}\nbooted=${file.booted}\n`;
}

export class FileBackend implements BootSlotBackend {
  readonly kind = 'file';

  constructor(
    private readonly path: string,
    private readonly trialBoots = 1,
  ) {}

  private async read(): Promise<SlotFile> {
    const text = await readFile(this.path, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    return parseSlotFile(text);
  }

  private async write(file: SlotFile): Promise<void> {
    const temp = join(dirname(this.path), `.${basename(this.path)}.new`);
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(renderSlotFile(file));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, this.path);
  }

  async status(): Promise<BootStatus> {
    const file = await this.read();
    return {
      booted: file.booted,
      committed: file.active,
      inTrial: file.trial !== '' && file.booted === file.trial && file.booted !== file.active,
    };
  }

  async armTrial(slot: OsSlot): Promise<void> {
    const file = await this.read();
    if (slot === file.active) throw new BootBackendError('trial-invalid', `slot ${slot} is already the committed slot`);
    await this.write({ ...file, trial: slot, tries: this.trialBoots });
  }

  async disarm(): Promise<void> {
    const file = await this.read();
    await this.write({ ...file, trial: '', tries: 0 });
  }

  async commit(): Promise<void> {
    const file = await this.read();
    await this.write({ active: file.booted, trial: '', tries: 0, booted: file.booted });
  }

  rebootCommand(): readonly string[] {
    return ['reboot'];
  }
}
