import type { BoardSpec } from '@flotilla/shared';

/**
 * What the Raspberry Pi firmware does with a boot partition, as its documentation says
 * ("config.txt": conditional filters, `os_prefix`, `kernel`, `initramfs`, `cmdline`), as
 * pure functions: the image builder checks a slot with them before it writes an image,
 * and the QEMU harness (test/e2e/qemu/rpi-firmware.ts) picks what to boot with them.
 */

/** The config.txt model filters a board's firmware matches, by SoC. */
const MODEL_FILTERS: Record<string, readonly string[]> = {
  BCM2711: ['pi4', 'pi400', 'cm4', 'cm4s'],
  BCM2712: ['pi5', 'cm5', 'pi500'],
};

export interface FirmwareConditions {
  soc: string;
  /** The one-shot tryboot flag is set for this boot (`reboot "0 tryboot"`). */
  tryboot: boolean;
}

/**
 * The properties config.txt sets for a boot, later lines winning. A `[filter]` line
 * replaces the filters before it, `[all]` clears them; `[none]` and filters this harness
 * does not model (EDID, serial numbers, GPIO) match nothing. `initramfs` is the one
 * property written with a space instead of `=`.
 */
export function readConfigTxt(text: string, when: FirmwareConditions): Map<string, string> {
  const models = MODEL_FILTERS[when.soc] ?? [];
  const properties = new Map<string, string>();
  let active = true;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      const filter = header[1].trim();
      active = filter === 'all' || (filter === 'tryboot' ? when.tryboot : models.includes(filter));
      continue;
    }
    if (!active) continue;
    const initramfs = /^initramfs\s+(\S+)(?:\s+(\S+))?$/.exec(line);
    if (initramfs) {
      properties.set('initramfs', initramfs[1]);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0) properties.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return properties;
}

export interface BootSelection {
  /** Paths inside the boot partition. */
  kernel: string;
  initramfs?: string;
  cmdline: string;
  config: Map<string, string>;
}

/** The files the firmware loads from a boot partition whose config.txt says `config`. */
export function bootSelection(spec: BoardSpec, config: Map<string, string>): BootSelection {
  // os_prefix is prepended to the kernel, initramfs, cmdline.txt and device-tree names.
  const prefix = config.get('os_prefix') ?? '';
  const kernel = config.get('kernel') ?? spec.boot.firmware?.kernel ?? 'kernel8.img';
  const initramfs = config.get('initramfs');
  return {
    kernel: prefix + kernel,
    ...(initramfs ? { initramfs: prefix + initramfs } : {}),
    cmdline: prefix + (config.get('cmdline') ?? 'cmdline.txt'),
    config,
  };
}

/** Names (inside the boot partition) that the firmware would look for and not find; empty when the slot can boot. */
export function missingBootFiles(spec: BoardSpec, files: ReadonlySet<string>, configText: string | undefined): string[] {
  const selection = bootSelection(spec, readConfigTxt(configText ?? '', { soc: spec.soc, tryboot: false }));
  const prefix = selection.config.get('os_prefix') ?? '';
  const wanted = [
    ...(spec.boot.firmware?.required ?? []).map((f) => (f.endsWith('.dtb') ? prefix + f : f)),
    selection.kernel,
    ...(selection.initramfs ? [selection.initramfs] : []),
  ];
  return wanted.filter((f) => !files.has(f));
}

/** Lines Flotilla appends to a slot's config.txt. */
export const WATCHDOG_CONFIG = `
# Added by Flotilla: the SoC's watchdog, which systemd arms (RuntimeWatchdogSec), so a
# trial boot that hangs is reset, and the firmware's one-shot tryboot falls back.
[all]
dtparam=watchdog=on
`;

export function withWatchdog(configText: string | undefined): string {
  const text = configText ?? '';
  if (/^dtparam=watchdog=on\s*$/m.test(text)) return text;
  return (text === '' || text.endsWith('\n') ? text : text + '\n') + WATCHDOG_CONFIG;
}
