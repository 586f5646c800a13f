import { QemuGuest, type QemuOptions } from './run-qemu';

/** What one power-on boots, and a line for the console. */
export interface Boot {
  options: QemuOptions;
  /** Printed on the console before the boot's own output (what the firmware chose). */
  banner?: string;
}

/**
 * A board whose every reset is a power cycle: QEMU exits at a guest reboot or watchdog reset
 * (`QemuGuest`), and `nextBoot` says what the next power-on boots, as a board's firmware decides
 * afresh at each boot (which slot, which kernel, which command line). A test can so change a
 * boot-time knob between boots, such as the trial watchdog's deadline. The console runs on across
 * boots. Runs until `stop()`, or until QEMU itself fails.
 */
export class PowerCycledBoard {
  private output = '';
  private guest: QemuGuest | undefined;
  private stopped = false;
  private failure: Error | undefined;
  private readonly started = Date.now();
  private readonly running: Promise<void>;

  /** `nextBoot(n, console)`: boot `n` (1-based), with the console of the boot before it ('' for the first). */
  constructor(private readonly nextBoot: (boot: number, lastConsole: string) => Promise<Boot>) {
    this.running = this.run().catch((e: Error) => void (this.failure = e));
  }

  private async run(): Promise<void> {
    let last = '';
    for (let n = 1; !this.stopped; n++) {
      const boot = await this.nextBoot(n, last);
      if (this.stopped) break;
      if (boot.banner) this.output += `\n${boot.banner}\n`;
      const guest = new QemuGuest(boot.options);
      this.guest = guest;
      const code = await guest.exit;
      last = guest.console;
      this.output += last;
      this.guest = undefined;
      // A guest's reboot or reset ends QEMU with 0 (-no-reboot); anything else is QEMU's own failure, not a boot.
      if (code !== 0 && !this.stopped) throw new Error(`QEMU exited with ${code} on boot ${n}`);
    }
  }

  /** Everything the serial console printed so far, over every boot. */
  get console(): string {
    return this.output + (this.guest?.console ?? '');
  }

  /** Milliseconds since the first power-on. */
  get uptimeMs(): number {
    return Date.now() - this.started;
  }

  /** Waits for the `n`-th line (1-based) matching `pattern`, counted over the whole console, every boot. */
  async waitForLine(pattern: RegExp, timeoutMs: number, n = 1): Promise<RegExpMatchArray> {
    const global = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : pattern.flags + 'g');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const matches = [...this.console.matchAll(global)];
      if (matches.length >= n) return matches[n - 1];
      if (this.failure) throw new Error(`the board stopped booting: ${this.failure.message}\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`no ${pattern} (#${n}) on the console within ${timeoutMs} ms:\n${this.tail()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  tail(chars = 4000): string {
    return this.console.slice(-chars);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.guest?.stop();
    await this.running;
  }
}
