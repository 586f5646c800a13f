import { createHash } from 'node:crypto';
import { open, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ImageToolError } from './errors';
import { mountConflicts, parseMountinfo, parseSwaps, type MountEntry, type TargetFacts } from './mount-guard';
import { runTool } from './tools';
import { silentProgress, type Progress } from './progress';

export interface FlashOptions {
  image: string;
  target: string;
  /** Write even over a mounted target or the running system's disk: the flag says what it does. */
  forceOverwriteMounted?: boolean;
  progress?: Progress;
  /** Injected for tests; default /proc/self/mountinfo and /sys. */
  procRoot?: string;
  sysRoot?: string;
}

export interface FlashResult {
  bytes: number;
  sha256: string;
}

export const FLASH_STAGES = 3;
const CHUNK = 4 * 1024 * 1024;

const devString = (rdev: number): string => `${Math.floor(rdev / 256) & 0xfff}:${(rdev & 0xff) | ((rdev >> 12) & 0xfff00)}`;

/**
 * `flotilla flash IMAGE TARGET`: copies the image onto a block device or into a file,
 * then reads the target back and compares SHA-256 hashes. Refuses a target that is (or
 * shares blocks with) a mounted file system or the running system unless forced.
 */
export async function flashImage(options: FlashOptions): Promise<FlashResult> {
  const progress = options.progress ?? silentProgress;
  progress.stage(`checking ${options.target}`);
  const image = await stat(options.image).catch(() => {
    throw new ImageToolError('image-missing', `no image at ${options.image}`);
  });
  const facts = await targetFacts(options.target, options.sysRoot ?? '/sys');
  const targetStat = await stat(options.target).catch(() => undefined);
  if (targetStat?.isDirectory())
    throw new ImageToolError('target-invalid', `${options.target} is a directory; give a block device or an image file path`);
  // A mistyped device name (/dev/sdbb) would otherwise become a file of the image's size in
  // /dev, a tmpfs: the card is left as it was and the machine's memory is filled.
  if (!targetStat?.isBlockDevice() && (facts.realPath === '/dev' || facts.realPath.startsWith('/dev/')))
    throw new ImageToolError(
      'target-invalid',
      `${options.target} is ${targetStat ? 'not a block device' : 'no device'}; give a disk (lsblk lists them) or an image file path outside /dev`,
    );
  if (targetStat && targetStat.ino === image.ino && targetStat.dev === image.dev)
    throw new ImageToolError('target-invalid', `${options.target} is the image itself`);
  const proc = options.procRoot ?? '/proc';
  const mountinfo = await readFile(join(proc, 'self', 'mountinfo'), 'utf8');
  const swaps = await readFile(join(proc, 'swaps'), 'utf8').catch(() => '');
  const inUse = await withSourceDevices([...parseMountinfo(mountinfo), ...parseSwaps(swaps)], options.sysRoot ?? '/sys');
  const conflicts = mountConflicts(facts, inUse);
  if (conflicts.length > 0 && !options.forceOverwriteMounted)
    throw new ImageToolError(
      'target-mounted',
      `refusing to write ${options.target}: ${conflicts.join('; ')}. Unmount it, pick another target, or pass --force-overwrite-mounted to destroy it anyway`,
    );
  const isBlock = targetStat?.isBlockDevice() ?? false;
  if (isBlock) {
    const size = await blockDeviceSize(options.target);
    if (size < image.size)
      throw new ImageToolError('target-too-small', `${options.target} holds ${size} bytes, the image needs ${image.size}`);
  }

  progress.stage(`writing ${image.size} bytes to ${options.target}`);
  const written = await copyImage(options.image, options.target, image.size, isBlock, progress);
  // What was just written is still in the page cache, and a read-back would hash that, not the
  // medium: drop the device's (clean, synced) buffers so that every byte is read from the card.
  if (isBlock) await runTool('blockdev', ['--flushbufs', options.target]);

  progress.stage('verifying (read back and hash)');
  const readBack = await hashRange(options.target, image.size, progress);
  if (readBack !== written)
    throw new ImageToolError(
      'verify-failed',
      `${options.target} reads back with sha256 ${readBack}, the image has ${written}: the medium may be faulty`,
    );
  progress.done(`${options.target}: ${image.size} bytes, sha256 ${written}`);
  return { bytes: image.size, sha256: written };
}

/**
 * Writes chunk by chunk, hashing what it writes. A file target stays sparse: zero chunks
 * are skipped after truncating it to the full size; a block device gets every byte, since
 * its old content is not zero.
 */
async function copyImage(image: string, target: string, size: number, isBlock: boolean, progress: Progress): Promise<string> {
  const hash = createHash('sha256');
  const input = await open(image, 'r');
  // A new file target is 0600: the image it receives carries a provisioning token.
  const output = await open(target, isBlock ? 'r+' : 'w', 0o600);
  try {
    if (!isBlock) await output.truncate(size);
    const buffer = Buffer.alloc(CHUNK);
    for (let pos = 0; pos < size;) {
      const { bytesRead } = await input.read(buffer, 0, Math.min(CHUNK, size - pos), pos);
      if (bytesRead === 0) throw new ImageToolError('image-truncated', `${image} ended at ${pos} of ${size} bytes while flashing`);
      const chunk = buffer.subarray(0, bytesRead);
      hash.update(chunk);
      if (isBlock || !isZero(chunk)) await output.write(chunk, 0, bytesRead, pos);
      pos += bytesRead;
      progress.fraction?.(pos, size);
    }
    await output.sync();
  } finally {
    await input.close();
    await output.close();
  }
  return hash.digest('hex');
}

async function hashRange(path: string, size: number, progress: Progress): Promise<string> {
  const hash = createHash('sha256');
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(CHUNK);
    for (let pos = 0; pos < size;) {
      const { bytesRead } = await file.read(buffer, 0, Math.min(CHUNK, size - pos), pos);
      if (bytesRead === 0) throw new ImageToolError('verify-failed', `${path} ended at ${pos} of ${size} bytes on read-back`);
      hash.update(buffer.subarray(0, bytesRead));
      pos += bytesRead;
      progress.fraction?.(pos, size);
    }
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}

function isZero(chunk: Buffer): boolean {
  for (let i = 0; i < chunk.length; i += 1) if (chunk[i] !== 0) return false;
  return true;
}

async function blockDeviceSize(path: string): Promise<number> {
  const file = await open(path, 'r');
  try {
    // No ioctl from Node: the size of a block device is where reading stops.
    const { size } = await file.stat();
    if (size > 0) return size;
    const sys = await readFile(`/sys/dev/block/${devString((await file.stat()).rdev)}/size`, 'utf8');
    return Number(sys.trim()) * 512;
  } finally {
    await file.close();
  }
}

/** Each entry with the device number of its source, when that is a block device (through /sys, by its kernel name). */
async function withSourceDevices(entries: MountEntry[], sys: string): Promise<MountEntry[]> {
  return Promise.all(
    entries.map(async (entry) => {
      if (!entry.source.startsWith('/dev/')) return entry;
      const name = basename(await realpath(entry.source).catch(() => entry.source));
      const dev = await readFile(join(sys, 'class', 'block', name, 'dev'), 'utf8').catch(() => undefined);
      return dev ? { ...entry, sourceDevice: dev.trim() } : entry;
    }),
  );
}

/** The target's device number plus every device sharing its blocks (partitions, holders, loop devices over a file). */
async function targetFacts(path: string, sys: string): Promise<TargetFacts> {
  const realPath = await realpath(path).catch(() => path);
  const devices = new Set<string>();
  const s = await stat(realPath).catch(() => undefined);
  const addWithRelatives = async (dev: string): Promise<void> => {
    if (devices.has(dev)) return;
    devices.add(dev);
    const base = join(sys, 'dev', 'block', dev);
    const dir = await realpath(base).catch(() => undefined);
    if (!dir) return;
    for (const entry of await readdir(dir).catch(() => [] as string[])) {
      const partDev = await readFile(join(dir, entry, 'dev'), 'utf8').catch(() => undefined);
      const isPartition = await stat(join(dir, entry, 'partition')).then(
        () => true,
        () => false,
      );
      if (partDev && isPartition) await addWithRelatives(partDev.trim());
    }
    for (const holder of await readdir(join(dir, 'holders')).catch(() => [] as string[])) {
      const holderDev = await readFile(join(sys, 'class', 'block', holder, 'dev'), 'utf8').catch(() => undefined);
      if (holderDev) await addWithRelatives(holderDev.trim());
    }
  };
  if (s?.isBlockDevice()) await addWithRelatives(devString(s.rdev));
  if (s?.isFile()) {
    for (const name of await readdir(join(sys, 'block')).catch(() => [] as string[])) {
      if (!name.startsWith('loop')) continue;
      const backing = await readFile(join(sys, 'block', name, 'loop', 'backing_file'), 'utf8').catch(() => undefined);
      if (backing?.trim() === realPath) {
        const dev = await readFile(join(sys, 'block', name, 'dev'), 'utf8');
        await addWithRelatives(dev.trim());
      }
    }
  }
  return { path, realPath, devices };
}
