import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppliedStateCorruptError, AppliedStateStore, type AppliedState } from './applied-store';

/** Integration: the real file system in a temp dir. */
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flotilla-state-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const state: AppliedState = {
  version: 1,
  desired: { schema: 1, rev: 7, release: null, config: { TZ: 'UTC' } },
  outcome: 'applied',
  at: '2026-11-27T12:00:00.000Z',
};

describe('AppliedStateStore', () => {
  it('returns nothing before the first save', async () => {
    expect(await new AppliedStateStore(join(dir, 'fresh')).load()).toBeUndefined();
  });

  it('round-trips what it saved, creating the directory, with no temp file left behind', async () => {
    const store = new AppliedStateStore(join(dir, 'state'));
    await store.save(state);
    await store.save({ ...state, desired: { ...state.desired, rev: 8 }, outcome: 'failed', error: 'boom' });
    expect(await new AppliedStateStore(join(dir, 'state')).load()).toEqual({
      ...state,
      desired: { ...state.desired, rev: 8 },
      outcome: 'failed',
      error: 'boom',
    });
    expect(await readdir(join(dir, 'state'))).toEqual(['applied.json']);
    expect((await stat(store.path)).mode & 0o777).toBe(0o600);
  });

  it('reports a corrupt file with a typed error naming it', async () => {
    const store = new AppliedStateStore(dir);
    await writeFile(store.path, '{"version":1,');
    await expect(store.load()).rejects.toBeInstanceOf(AppliedStateCorruptError);
    await writeFile(store.path, '{"version":2}');
    await expect(store.load()).rejects.toThrow(store.path);
  });
});
