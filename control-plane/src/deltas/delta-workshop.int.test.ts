import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { DeltaWorkshop, STALE_SCRATCH_MS } from './delta-workshop';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flotilla-workshop-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('DeltaWorkshop scratch directories (file system)', () => {
  it('removes the scratch of a computation that died with its process, and keeps one under way', async () => {
    const dead = join(dir, 'dead');
    const live = join(dir, 'live');
    for (const d of [dead, live]) {
      await mkdir(d);
      await writeFile(join(d, 'target.tar'), 'layer');
    }
    const old = new Date(Date.now() - STALE_SCRATCH_MS - 60_000);
    await utimes(dead, old, old);
    // Before: left for good, each with up to two unpacked layers.
    const made = await new DeltaWorkshop(dir).scratch();
    expect((await readdir(dir)).sort()).toEqual([basename(made), 'live'].sort());
  });
});
