import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DebianArm64 } from '../../../cli/src/images/debian-arm64';
import { cpioNewc, type CpioEntry } from './cpio';

/** Modules the init loads, in this order after their dependencies: virtio disk and network, FAT, ext4. */
const WANTED = ['virtio_mmio', 'virtio_blk', 'virtio_net', 'crc32c_generic', 'ext4', 'vfat', 'nls_cp437', 'nls_ascii'];

export interface GuestKit {
  kernel: string;
  initramfs: Buffer;
}

/**
 * Debian's arm64 kernel and busybox-static, fetched with apt-get download under a private
 * arm64 APT config (cached in `aptCache`), and an initramfs with busybox, the few modules
 * the init needs (dependencies read from each module's .modinfo) and init.sh.
 */
export interface GuestKitOptions {
  /** The init script beside this file (default init.sh, the `file` backend's boot stage). */
  init?: string;
  /** More kernel modules to load (e.g. i6300esb, the watchdog QEMU emulates). */
  modules?: readonly string[];
}

export async function guestKit(aptCache: string, options: GuestKitOptions = {}): Promise<GuestKit> {
  const debian = new DebianArm64(aptCache);
  await debian.prepare();
  const kernelPackage = (await debian.withDependencies(['linux-image-arm64'])).find((p) => /^linux-image-\d.*-arm64$/.test(p));
  if (!kernelPackage) throw new Error('no linux-image-<version>-arm64 behind linux-image-arm64 in the arm64 package lists');
  const root = join(aptCache, 'unpacked', kernelPackage);
  if (!existsSync(join(root, 'boot'))) {
    await mkdir(root, { recursive: true });
    await debian.extract(await debian.download([kernelPackage, 'busybox-static']), root);
  }
  const kernel = join(
    root,
    'boot',
    (await readdir(join(root, 'boot'))).find((f) => f.startsWith('vmlinuz-'))!,
  );
  const modulesDir = join(root, 'lib', 'modules', (await readdir(join(root, 'lib', 'modules')))[0]);
  const index = await indexModules(modulesDir);

  const order: string[] = [];
  const visit = async (name: string): Promise<void> => {
    if (order.includes(name)) return;
    const path = index.get(name);
    if (!path) throw new Error(`module ${name} is not in ${modulesDir}`);
    const deps = /\0depends=([^\0]*)\0/.exec((await readFile(path)).toString('latin1'))?.[1] ?? '';
    for (const dep of deps.split(',').filter(Boolean)) await visit(dep.replace(/-/g, '_'));
    order.push(name);
  };
  for (const name of [...WANTED, ...(options.modules ?? [])]) await visit(name);

  const entries: CpioEntry[] = [
    ...['bin', 'dev', 'proc', 'sys', 'boot', 'root', 'modules'].map((d) => ({ path: d, type: 'dir' as const })),
    { path: 'bin/busybox', type: 'file', content: await readFile(join(root, 'bin', 'busybox')), mode: 0o755 },
    { path: 'bin/sh', type: 'symlink', target: 'busybox' },
    { path: 'init', type: 'file', content: await readFile(join(__dirname, options.init ?? 'init.sh')), mode: 0o755 },
    { path: 'modules/order', type: 'file', content: order.join('\n') + '\n' },
    ...(await Promise.all(
      order.map(async (m) => ({ path: `modules/${m}.ko`, type: 'file' as const, content: await readFile(index.get(m)!) })),
    )),
  ];
  return { kernel, initramfs: cpioNewc(entries) };
}

/** module name (dashes as underscores) → path of its .ko */
async function indexModules(dir: string): Promise<Map<string, string>> {
  const index = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      if (entry.isDirectory()) await walk(join(d, entry.name));
      else if (entry.name.endsWith('.ko')) index.set(entry.name.slice(0, -3).replace(/-/g, '_'), join(d, entry.name));
    }
  };
  await walk(join(dir, 'kernel'));
  return index;
}
