/**
 * Raspberry Pi firmware A/B (Raspberry Pi documentation, "autoboot.txt" and "tryboot"):
 * the first FAT partition (`bootconfig`) holds autoboot.txt
 *
 *   [all]
 *   tryboot_a_b=1
 *   boot_partition=2     ← committed slot's boot partition
 *   [tryboot]
 *   boot_partition=3     ← booted once after `reboot "0 tryboot"`
 *
 * Written by the image builder, rewritten by the agent's `rpi-tryboot` backend, read by
 * the QEMU harness that plays the firmware.
 */
export interface AutobootConfig {
  all: Map<string, string>;
  tryboot: Map<string, string>;
}

export function parseAutoboot(text: string): AutobootConfig {
  const config: AutobootConfig = { all: new Map(), tryboot: new Map() };
  let section: Map<string, string> | undefined = config.all;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      // Other conditional sections ([pi4], [cm5]…) are kept out: Flotilla only owns these two.
      section = header[1] === 'all' ? config.all : header[1] === 'tryboot' ? config.tryboot : undefined;
      continue;
    }
    const eq = line.indexOf('=');
    if (section && eq > 0) section.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return config;
}

export function renderAutoboot(committedPartition: number, trialPartition: number): string {
  return `[all]\ntryboot_a_b=1\nboot_partition=${committedPartition}\n[tryboot]\nboot_partition=${trialPartition}\n`;
}

/** The boot partition the firmware starts: [tryboot]'s when the one-shot flag is set, [all]'s otherwise (default 1). */
export function autobootPartition(config: AutobootConfig, tryboot: boolean): number {
  const all = Number(config.all.get('boot_partition') ?? 1);
  if (!tryboot || config.all.get('tryboot_a_b') !== '1') return all;
  return Number(config.tryboot.get('boot_partition') ?? all);
}
