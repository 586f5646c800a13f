import { spawn } from 'node:child_process';

export interface QemuRun {
  output: string;
  /** Milliseconds from spawn to the first line matching `marker`. */
  markerMs: number | undefined;
  exitCode: number | null;
}

/**
 * Boots `qemu-system-aarch64 -M virt` with a kernel, an initramfs and a raw disk image on
 * virtio-blk (MMIO), no network (-nic none), serial console on stdio. Resolves when QEMU
 * exits (the init powers off) or kills it after `timeoutMs`.
 */
export function bootQemu(options: {
  kernel: string;
  initrd: string;
  disk: string;
  timeoutMs: number;
  marker: RegExp;
  /** Extra kernel command line words. */
  append?: string;
}): Promise<QemuRun> {
  const args = [
    ...['-M', 'virt', '-cpu', 'cortex-a72', '-m', '512', '-smp', '1', '-nographic', '-nic', 'none', '-no-reboot'],
    ...['-kernel', options.kernel, '-initrd', options.initrd, '-append', `console=ttyAMA0 quiet panic=-1 ${options.append ?? ''}`.trim()],
    ...['-drive', `file=${options.disk},format=raw,if=none,id=disk0`, '-device', 'virtio-blk-device,drive=disk0'],
  ];
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn('qemu-system-aarch64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let markerMs: number | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    const collect = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (markerMs === undefined && options.marker.test(output)) markerMs = Date.now() - started;
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ output, markerMs, exitCode });
    });
  });
}
