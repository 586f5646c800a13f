import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sweepStaleTempFiles, tempName, writeFileAtomic } from './atomic-file';

/**
 * Integration (real files, real processes): the temporary files `writeFileAtomic` left when a power
 * cut came between write and rename are removed at start, and nothing else is: not a live writer's,
 * not this process's own write in progress, not a file of another naming. Before, nothing removed them.
 */
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fl-sweep-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

it("removes a dead writer's temporary files and an earlier life's of this pid, and keeps the rest", async () => {
  const dead = spawnSync(process.execPath, ['-e', '']).pid!;
  const started = Date.now() - 1_000;
  const old = new Date(started - 10_000);
  await writeFileAtomic(join(dir, 'outbox.json'), '{}');
  const files = {
    deadWriter: tempName('outbox.json', dead),
    liveWriter: tempName('update.json', process.ppid),
    ownEarlierLife: tempName('ledger.json', process.pid),
    ownWriteNow: tempName('trusted-keys.json', process.pid),
    otherNaming: '.outbox.json.tmp',
    noDot: `outbox.json.${dead}.tmp`,
  };
  for (const name of Object.values(files)) await writeFile(join(dir, name), '{"torn');
  await utimes(join(dir, files.ownEarlierLife), old, old);
  await mkdir(join(dir, tempName('dir', dead)));

  expect((await sweepStaleTempFiles(dir, started)).sort()).toEqual([files.deadWriter, files.ownEarlierLife].sort());
  expect((await readdir(dir)).sort()).toEqual(
    ['outbox.json', files.liveWriter, files.ownWriteNow, files.otherNaming, files.noDot, tempName('dir', dead)].sort(),
  );
  expect(await sweepStaleTempFiles(join(dir, 'absent'))).toEqual([]);
});
