import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mountSmallDisk, type SmallDisk } from '../../../test/support/small-disk';
import { writeFileAtomic } from './atomic-file';

/** Integration (a real tmpfs filled to ENOSPC): a write that does not fit changes nothing and leaves nothing. */
let disk: SmallDisk;
beforeAll(async () => {
  disk = await mountSmallDisk(256);
});
afterAll(() => disk?.unmount());

it('leaves the old file and no partial temporary file when the disk is full, and writes once there is room', async () => {
  const path = join(disk.path, 'state', 'update.json');
  await writeFileAtomic(path, '{"rev":1}');
  await disk.fill();
  try {
    await expect(writeFileAtomic(path, JSON.stringify({ rev: 2, pad: 'x'.repeat(64 * 1024) }))).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(await readFile(path, 'utf8')).toBe('{"rev":1}');
    // Before: the part written stayed as .update.json.<pid>.tmp, holding space on a disk that had none.
    expect(await readdir(join(disk.path, 'state'))).toEqual(['update.json']);
  } finally {
    await disk.free();
  }
  await writeFileAtomic(path, '{"rev":3}');
  expect(await readFile(path, 'utf8')).toBe('{"rev":3}');
});
