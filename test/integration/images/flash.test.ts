import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flashImage } from '../../../cli/src/images/flash';
import { mountConflicts, parseMountinfo } from '../../../cli/src/images/mount-guard';
import { stderrProgress } from '../../../cli/src/images/progress';
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
});
