import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flashImage } from '../../../cli/src/images/flash';
import { mountConflicts, parseMountinfo } from '../../../cli/src/images/mount-guard';
import { silentProgress, stderrProgress } from '../../../cli/src/images/progress';
import { runTool } from '../../../cli/src/images/tools';
import { sha256File } from './fixtures';

jest.setTimeout(60_000);
const MiB = 1024 * 1024;

/** The block device holding / here, from /proc/self/mountinfo, when it has a node under /dev. */
function rootDevice(): string | undefined {
  const root = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).find((m) => m.mountPoint === '/');
  return root?.source.startsWith('/dev/') ? root.source : undefined;
}

describe('flotilla flash', () => {
  let dir: string;
  let image: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-flash-test-'));
    image = join(dir, 'device.img');
    // Data, a hole of zeros, data: the copy must keep the bytes whatever the target.
    const file = await open(image, 'w');
    await file.write(randomBytes(3 * MiB), 0, 3 * MiB, 0);
    await file.write(randomBytes(MiB + 123), 0, MiB + 123, 12 * MiB);
    await file.close();
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes an image into a file with progress and verifies it by reading back', async () => {
    const target = join(dir, 'card.img');
    await writeFile(target, randomBytes(20 * MiB)); // old content longer than the image
    const lines: string[] = [];
    const result = await flashImage({ image, target, progress: stderrProgress(3, (s) => void lines.push(s)) });
    expect(result.sha256).toBe(await sha256File(image));
    expect(await sha256File(target)).toBe(result.sha256);
    expect((await stat(target)).size).toBe((await stat(image)).size);
    const fresh = join(dir, 'fresh.img');
    await flashImage({ image, target: fresh });
    expect((await stat(fresh)).mode & 0o777).toBe(0o600);
    expect(lines.join('')).toMatch(/\[2\/3\] writing .*100%/s);
    expect(lines.join('')).toContain('[3/3] verifying');
  });

  it('refuses the device that holds the running system, and says which flag overrides it', async () => {
    const device = rootDevice();
    if (!device) {
      // No block device behind / (overlay root): prove the same rule on this machine's mountinfo.
      const mounts = parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8'));
      const root = mounts.find((m) => m.mountPoint === '/')!;
      expect(mountConflicts({ path: root.source, realPath: root.source, devices: new Set([root.device]) }, mounts)[0]).toMatch(
        /running system/,
      );
      return;
    }
    // Guard first, so that a broken guard can never reach the write below.
    await expect(flashImage({ image, target: device })).rejects.toMatchObject({
      code: 'target-mounted',
      message: expect.stringMatching(/holds the running system.*--force-overwrite-mounted/),
    });
  });

  it('refuses the image itself and a directory', async () => {
    await expect(flashImage({ image, target: image })).rejects.toMatchObject({ code: 'target-invalid' });
    await expect(flashImage({ image, target: dir })).rejects.toMatchObject({ code: 'target-invalid' });
  });

  it('refuses a device name that does not exist, or anything in /dev but a disk, instead of filling /dev', async () => {
    const typo = `/dev/flotilla-flash-test-${process.pid}`;
    try {
      await expect(flashImage({ image, target: typo })).rejects.toMatchObject({
        code: 'target-invalid',
        message: expect.stringMatching(/is no device; give a disk/),
      });
      expect(existsSync(typo)).toBe(false);
      await expect(flashImage({ image, target: '/dev/null' })).rejects.toMatchObject({
        code: 'target-invalid',
        message: expect.stringMatching(/not a block device/),
      });
    } finally {
      await rm(typo, { force: true });
    }
  });

  // Block devices need root: mknod for a device node no driver answers (so nothing can be
  // written even by a broken guard), losetup for a card whose medium the test can reach behind it.
  const root = process.getuid?.() === 0;

  it('refuses a disk whose partition is mounted by btrfs (anonymous device number) or used as swap', async () => {
    if (!root) return;
    const node = join(dir, 'disk-node');
    await runTool('mknod', [node, 'b', '7', '250']);
    const proc = join(dir, 'proc');
    const sys = join(dir, 'sys');
    await mkdir(join(proc, 'self'), { recursive: true });
    await mkdir(join(sys, 'class', 'block', 'fakedisk2'), { recursive: true });
    await writeFile(join(sys, 'class', 'block', 'fakedisk2', 'dev'), '7:250\n');
    const flash = () => flashImage({ image, target: node, procRoot: proc, sysRoot: sys });

    await writeFile(join(proc, 'self', 'mountinfo'), '26 1 0:27 / / rw,relatime - btrfs /dev/fakedisk2 rw,subvol=/\n');
    await expect(flash()).rejects.toMatchObject({ code: 'target-mounted', message: expect.stringMatching(/holds the running system/) });

    await writeFile(join(proc, 'self', 'mountinfo'), '29 1 0:22 / /run rw - tmpfs tmpfs rw\n');
    await writeFile(join(proc, 'swaps'), 'Filename\tType\tSize\tUsed\tPriority\n/dev/fakedisk2 partition 1048572 0 -2\n');
    await expect(flash()).rejects.toMatchObject({ code: 'target-mounted', message: expect.stringMatching(/in use as swap/) });
  });

  it('verifies a block device by reading the medium back, not what the page cache kept of the write', async () => {
    if (!root) return;
    const backing = join(dir, 'card-backing.img');
    await writeFile(backing, Buffer.alloc(20 * MiB));
    const loop = (await runTool('losetup', ['--find', '--show', backing])).stdout.toString().trim();
    // Held open meanwhile, as udev's probe or a desktop's disk service may: the kernel drops a
    // device's page cache at its last close only, so without this a read-back after a close is real anyway.
    const holder = openSync(loop, 'r');
    try {
      // Once written and synced, the medium goes bad under its first bytes: only a real read-back sees it.
      const progress = {
        ...silentProgress,
        stage(name: string) {
          if (!name.startsWith('verifying')) return;
          const fd = openSync(backing, 'r+');
          writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, 0);
          fsyncSync(fd);
          closeSync(fd);
        },
      };
      await expect(flashImage({ image, target: loop, progress })).rejects.toMatchObject({ code: 'verify-failed' });
    } finally {
      closeSync(holder);
      await runTool('losetup', ['--detach', loop]);
    }
  });
});
