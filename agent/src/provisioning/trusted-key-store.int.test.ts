import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../support/logger';
import { endorseKey, testSigner } from '../testing/releases';
import { LEARNED_KEYS_FILE, ReleaseKeysCorruptError, TrustedKeyStore } from './trusted-key-store';

/** The store against a real state directory: what it writes survives a restart, and only what an endorsement earns gets in. */
const [k1, k2, k3, stranger] = [testSigner(), testSigner(), testSigner(), testSigner()];
let dir: string;
beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'trusted-keys-'))));
afterEach(() => rm(dir, { recursive: true, force: true }));

const open = () => TrustedKeyStore.open({ stateDir: dir, pinned: [k1.key], logger: silentLogger });

describe('TrustedKeyStore', () => {
  it('starts from the pinned keys, learns the chain, and still trusts it after a restart', async () => {
    const store = await open();
    expect(store.keys()).toEqual([k1.key]);
    const learning = await store.learn([endorseKey(k2.key, k1), endorseKey(k3.key, k2)]);
    expect(learning.trusted).toEqual([k1.key, k2.key, k3.key]);
    expect(learning.added.map((k) => k.keyId)).toEqual([k2.key.keyId, k3.key.keyId]);
    const file = JSON.parse(await readFile(join(dir, LEARNED_KEYS_FILE), 'utf8')) as { keys: { keyId: string }[] };
    expect(file.keys.map((k) => k.keyId)).toEqual([k2.key.keyId, k3.key.keyId]);

    const reopened = await open();
    expect(reopened.keys()).toEqual([k1.key, k2.key, k3.key]);
    expect(await reopened.learn([endorseKey(k2.key, k1), endorseKey(k3.key, k2)])).toEqual({
      trusted: [k1.key, k2.key, k3.key],
      added: [],
      refused: [],
    });
  });

  it('reports a refused key once per process, and never stores it', async () => {
    const store = await open();
    const offered = [endorseKey(k3.key, stranger)];
    expect((await store.learn(offered)).refused).toHaveLength(1);
    expect((await store.learn(offered)).refused).toHaveLength(0);
    expect((await store.learn(offered)).trusted).toEqual([k1.key]);
    await expect(readFile(join(dir, LEARNED_KEYS_FILE), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('checks the file again on load: a key written there without a valid endorsement is not trusted', async () => {
    const forged = { ...endorseKey(stranger.key, k1), endorsement: endorseKey(stranger.key, stranger).endorsement };
    await writeFile(join(dir, LEARNED_KEYS_FILE), JSON.stringify({ schema: 1, keys: [endorseKey(k2.key, k1), forged] }));
    expect((await open()).keys()).toEqual([k1.key, k2.key]);
  });

  it('fails closed on a torn, foreign-shaped or unreadable file: trusts no key, refuses to learn, and leaves the file alone', async () => {
    const path = join(dir, LEARNED_KEYS_FILE);
    for (const damaged of ['{"schema":1,"keys":[],"revo', '', JSON.stringify({ schema: 2, keys: [] })]) {
      await writeFile(path, damaged);
      const store = await open();
      expect(store.keys()).toEqual([]);
      expect(() => store.preview([])).toThrow(ReleaseKeysCorruptError);
      await expect(store.learn([endorseKey(k2.key, k1)])).rejects.toMatchObject({ code: 'release-keys-corrupt', terminal: true });
      await expect(store.accept([], [], new Set([k1.key.keyId]))).rejects.toThrow(/release-keys\.json is not .*restore it/);
      expect(await readFile(path, 'utf8')).toBe(damaged);
    }
    await rm(path);
    await mkdir(path); // EISDIR: a file that cannot be read is no better than a torn one
    await expect((await open()).learn([])).rejects.toThrow(/cannot be read/);
  });
});
