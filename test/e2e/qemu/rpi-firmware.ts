import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { autobootPartition, parseAutoboot, type BoardSpec } from '@flotilla/shared';
import { readFatFile } from '../../../cli/src/images/fat';
import { bootSelection, readConfigTxt } from '../../../cli/src/images/rpi-boot';
import { PowerCycledBoard, type Boot } from './power-cycled-board';
import { MACHINE_ARGS } from './run-qemu';

/**
 * The Raspberry Pi firmware's part of a boot, played on a raw image for QEMU's virt machine
 * (Raspberry Pi documentation: "autoboot.txt", "config.txt", "tryboot"):
 *  1. the partition table (GPT or MBR, through sfdisk), partition 1's autoboot.txt: its
 *     [all] boot_partition, or [tryboot]'s when the one-shot tryboot flag is set;
 *  2. that partition's config.txt with its filters ([all], the board's model, [tryboot]),
 *     os_prefix, kernel, initramfs and cmdline;
 *  3. that kernel, initramfs and command line, with /chosen/bootloader/{tryboot,partition}
 *     in the device tree, as the firmware tells Linux what it did.
 * A Pi's GPU firmware and its own device tree do not run on virt: the slot's start4.elf and
 * bcm2711 DTB are only checked to be there by the image build; QEMU's virt device tree stands
 * in for the board's. `serial0` (the Pi's alias of its UART) is virt's ttyAMA0.
 */
export interface FirmwareChoice {
  partition: number;
  tryboot: boolean;
  kernel: Buffer;
  initramfs?: Buffer;
  cmdline: string;
}

interface Partition {
  number: number;
  offset: number;
}

function partitions(image: string): Partition[] {
  const table = JSON.parse(execFileSync('sfdisk', ['--json', image]).toString()) as {
    partitiontable: { sectorsize?: number; partitions: { node: string; start: number }[] };
  };
  const sector = table.partitiontable.sectorsize ?? 512;
  return table.partitiontable.partitions.map((p) => ({ number: Number(/(\d+)$/.exec(p.node)![1]), offset: p.start * sector }));
}

export async function firmwareChoice(image: string, spec: BoardSpec, tryboot: boolean): Promise<FirmwareChoice> {
  const table = partitions(image);
  const at = (n: number) => {
    const p = table.find((q) => q.number === n);
    if (!p) throw new Error(`the firmware would find no partition ${n} in ${image}`);
    return p.offset;
  };
  const autoboot = await readFatFile(image, at(1), 'autoboot.txt')
    .then((b) => b.toString())
    .catch(() => '');
  const partition = autobootPartition(parseAutoboot(autoboot), tryboot);
  const read = (path: string) => readFatFile(image, at(partition), path);
  const config = await read('config.txt')
    .then((b) => b.toString())
    .catch(() => '');
  const selection = bootSelection(spec, readConfigTxt(config, { soc: spec.soc, tryboot }));
  const kernel = await read(selection.kernel).catch(() => {
    throw new Error(`the firmware would find no kernel ${selection.kernel} on partition ${partition} (tryboot ${tryboot})`);
  });
  return {
    partition,
    tryboot,
    kernel,
    ...(selection.initramfs ? { initramfs: await read(selection.initramfs) } : {}),
    cmdline: (await read(selection.cmdline)).toString().trim(),
  };
}

/** virt's device tree with /chosen/bootloader as the Raspberry Pi firmware fills it (4-byte cells). */
export function deviceTreeFor(dir: string, memoryMiB: number, choice: { tryboot: boolean; partition: number }): string {
  const base = join(dir, 'virt.dts');
  try {
    readFileSync(base);
  } catch {
    execFileSync('qemu-system-aarch64', [...MACHINE_ARGS(memoryMiB), '-nic', 'none', '-machine', `dumpdtb=${join(dir, 'virt.dtb')}`], {
      stdio: 'ignore',
    });
    writeFileSync(base, execFileSync('dtc', ['-q', '-I', 'dtb', '-O', 'dts', join(dir, 'virt.dtb')]));
  }
  const dts = `${readFileSync(base, 'utf8')}\n/ { chosen { bootloader { tryboot = <${choice.tryboot ? 1 : 0}>; partition = <${choice.partition}>; }; }; };\n`;
  const out = join(dir, `boot-p${choice.partition}-t${choice.tryboot ? 1 : 0}.dtb`);
  execFileSync('dtc', ['-q', '-I', 'dts', '-O', 'dtb', '-o', out], { input: dts });
  return out;
}

export interface RpiBoardOptions {
  image: string;
  spec: BoardSpec;
  /** Scratch directory for kernels, initramfs and device trees. */
  dir: string;
  /** Test knobs appended to the slot's cmdline.txt (e.g. flotilla.trial_deadline=60), read at each boot. */
  knobs: () => string;
  memoryMiB?: number;
}

/**
 * A Raspberry Pi under emulation: boots what the firmware would, and when the guest
 * reboots (or the watchdog resets it: QEMU runs with -no-reboot and an i6300esb), reads the
 * image again and boots the next choice. `reboot "0 tryboot"` sets the one-shot flag for the
 * next boot only, as the firmware does.
 */
export class RpiBoard {
  readonly choices: FirmwareChoice[] = [];
  private readonly board: PowerCycledBoard;

  constructor(private readonly options: RpiBoardOptions) {
    mkdirSync(options.dir, { recursive: true });
    this.board = new PowerCycledBoard((boot, lastConsole) => this.nextBoot(boot, lastConsole));
  }

  private async nextBoot(boot: number, lastConsole: string): Promise<Boot> {
    const memory = this.options.memoryMiB ?? 768;
    // The one-shot flag: set by `reboot "0 tryboot"`, cleared by any other restart.
    const reboots = [...lastConsole.matchAll(/FLOTILLA-REBOOT-ARG (.*)/g)];
    const tryboot = reboots.length > 0 && /\btryboot\b/.test(reboots[reboots.length - 1][1]);
    const choice = await firmwareChoice(this.options.image, this.options.spec, tryboot);
    this.choices.push(choice);
    const kernel = join(this.options.dir, 'kernel');
    const initrd = join(this.options.dir, 'initrd');
    writeFileSync(kernel, choice.kernel);
    writeFileSync(initrd, choice.initramfs ?? Buffer.alloc(0));
    const cmdline = choice.cmdline.replace(/console=serial0(,\d+)?/, 'console=ttyAMA0');
    return {
      banner: `RPI-FIRMWARE boot #${boot}: partition ${choice.partition}, tryboot ${tryboot ? 1 : 0}, cmdline "${cmdline}"`,
      options: {
        kernel,
        initrd,
        disk: this.options.image,
        // The serial console last, so it is /dev/console; then the test's knobs.
        append: `${cmdline} console=ttyAMA0 ${this.options.knobs()}`,
        dtb: deviceTreeFor(this.options.dir, memory, choice),
        memoryMiB: memory,
        extraArgs: ['-device', 'i6300esb', '-watchdog-action', 'reset'],
      },
    };
  }

  get console(): string {
    return this.board.console;
  }

  get uptimeMs(): number {
    return this.board.uptimeMs;
  }

  waitForLine(pattern: RegExp, timeoutMs: number, n = 1): Promise<RegExpMatchArray> {
    return this.board.waitForLine(pattern, timeoutMs, n);
  }

  tail(chars = 4000): string {
    return this.board.tail(chars);
  }

  stop(): Promise<void> {
    return this.board.stop();
  }
}
