import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { roomFor, zstdPatch } from './zstd-patch';

// Integration (the real zstd, files in a temporary directory): a patch rebuilds its layer, and one
// that expands past the room it is given is stopped there, not when the disk is full.

const MiB = 2 ** 20;
let dir: string;
let base: string;
let target: Buffer;
let patch: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-zstd-'));
  base = join(dir, 'base.tar');
  writeFileSync(base, randomBytes(MiB));
  // The base and 32 MiB of zeros after it: the patch is a few KiB.
  target = Buffer.concat([readFileSync(base), Buffer.alloc(32 * MiB)]);
  writeFileSync(join(dir, 'target.tar'), target);
  patch = join(dir, 'patch.zst');
  execFileSync('zstd', ['-q', '-f', '--long=31', `--patch-from=${base}`, join(dir, 'target.tar'), '-o', patch]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('rebuilds the layer a patch stands for', async () => {
  expect(readFileSync(patch).length).toBeLessThan(64 * 1024);
  const out = join(dir, 'rebuilt.tar');
  await zstdPatch(base, patch, out, 64 * MiB);
  expect(readFileSync(out).equals(target)).toBe(true);
});

it('stops a patch that expands past the room it has, and leaves nothing of it', async () => {
  const out = join(dir, 'bomb.tar');
  await expect(zstdPatch(base, patch, out, 4 * MiB)).rejects.toMatchObject({
    code: 'delta-unusable',
    message: expect.stringContaining(`past ${4 * MiB} bytes`),
  });
  expect(existsSync(out)).toBe(false);
  await expect(zstdPatch(base, patch, out, 0)).rejects.toMatchObject({
    code: 'delta-unusable',
    message: expect.stringContaining('no room'),
  });
});

it('refuses a damaged patch', async () => {
  const damaged = join(dir, 'damaged.zst');
  writeFileSync(damaged, Buffer.from('not a zstd frame'));
  await expect(zstdPatch(base, damaged, join(dir, 'x.tar'), 64 * MiB)).rejects.toMatchObject({
    message: expect.stringMatching(/zstd exited/),
  });
  expect(existsSync(join(dir, 'x.tar'))).toBe(false);
});

it('counts the room as what the file system has free, less the reserve', async () => {
  const all = await roomFor(dir, 0);
  expect(all).toBeGreaterThan(0);
  expect(await roomFor(dir, all + 1)).toBeLessThanOrEqual(0);
});
