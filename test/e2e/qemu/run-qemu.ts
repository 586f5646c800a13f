import { spawn, type ChildProcess } from 'node:child_process';

export interface QemuOptions {
  kernel: string;
  initrd: string;
  disk: string;
  /** Extra kernel command line words. */
  append?: string;
  memoryMiB?: number;
  /** A device tree instead of the one QEMU generates for virt (it must describe the same machine). */
  dtb?: string;
  /** More QEMU arguments (devices). */
  extraArgs?: readonly string[];
}

/** The machine every guest here runs on; a device tree dumped for it must use the same. */
export const MACHINE_ARGS = (memoryMiB = 768): string[] => [
  '-M',
  'virt',
  '-cpu',
  'cortex-a72',
  '-m',
  String(memoryMiB),
  '-smp',
  '1',
  '-nographic',
];

/**
 * `qemu-system-aarch64 -M virt` with a kernel, an initramfs and a raw disk on virtio-blk
 * (MMIO), serial console on stdio, and QEMU's user network on virtio-net: the guest is
 * 10.0.2.15 and reaches the host's 127.0.0.1 as 10.0.2.2, nothing else is forwarded in.
 * One power-on: a reboot or watchdog reset in the guest ends it (`-no-reboot`, QEMU exits);
 * `PowerCycledBoard` boots the next. Runs until then or `stop()`.
 */
export class QemuGuest {
  private output = '';
  private readonly child: ChildProcess;
  private exited: number | null | undefined;
  /** Resolves when QEMU has exited. */
  readonly exit: Promise<number | null>;

  constructor(options: QemuOptions) {
    const args = [
      ...MACHINE_ARGS(options.memoryMiB),
      ...['-netdev', 'user,id=net0,ipv6=off', '-device', 'virtio-net-device,netdev=net0'],
      ...['-kernel', options.kernel, '-initrd', options.initrd, '-append', `console=ttyAMA0 quiet panic=-1 ${options.append ?? ''}`.trim()],
      ...['-drive', `file=${options.disk},format=raw,if=none,id=disk0`, '-device', 'virtio-blk-device,drive=disk0'],
      ...(options.dtb ? ['-dtb', options.dtb] : []),
      '-no-reboot',
      ...(options.extraArgs ?? []),
    ];
    this.child = spawn('qemu-system-aarch64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (chunk: Buffer) => (this.output += chunk.toString('utf8'));
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
    this.exit = new Promise((resolve) =>
      this.child.on('exit', (code) => {
        this.exited = code;
        resolve(code);
      }),
    );
  }

  /** Everything the serial console printed so far. */
  get console(): string {
    return this.output;
  }

  async stop(): Promise<void> {
    if (this.exited !== undefined) return;
    const gone = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL');
    await gone;
  }
}
