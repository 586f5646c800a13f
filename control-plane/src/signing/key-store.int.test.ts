import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { releaseKeyId } from '@flotilla/shared';
import type { KeyObject } from 'node:crypto';
import { KeyStore, SIGNING_KEYS_DIR } from './key-store';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'flotilla-keys-'));
});
afterEach(() => rm(dataDir, { recursive: true, force: true }));

const ids = (keys: { publicKey: KeyObject }[]) => keys.map((k) => releaseKeyId(k.publicKey));

describe('KeyStore (file system)', () => {
  it('generates one key on first start (0600 PEM in a 0700 directory) and reads the same key afterwards', async () => {
    const first = await KeyStore.inDataDir(dataDir).loadOrCreate();
    expect(first).toHaveLength(1);
    const dir = join(dataDir, SIGNING_KEYS_DIR);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const [file] = await readdir(dir);
    expect((await stat(join(dir, file!))).mode & 0o777).toBe(0o600);
    expect(ids(await KeyStore.inDataDir(dataDir).loadOrCreate())).toEqual(ids(first));
  });

  it('keeps rotated keys in creation order', async () => {
    let t = 1_000;
    const store = new KeyStore(join(dataDir, SIGNING_KEYS_DIR), () => new Date(t++));
    const first = await store.loadOrCreate();
    const second = await store.create();
    const third = await store.create();
    const loaded = await store.load();
    expect(ids(loaded)).toEqual(ids([...first, second, third]));
    expect(loaded.map((k) => k.createdAt.getTime())).toEqual([1000, 1001, 1002]);
  });

  it('revokes: records the public key, destroys the private one, and loads the key as revoked', async () => {
    let t = 1_000;
    const store = new KeyStore(join(dataDir, SIGNING_KEYS_DIR), () => new Date(t++));
    const [first] = await store.loadOrCreate();
    const second = await store.create();
    const revoked = await store.revoke(first!);
    expect(revoked).toMatchObject({ name: first!.name, revokedAt: new Date(1002) });
    expect((await readdir(join(dataDir, SIGNING_KEYS_DIR))).sort()).toEqual([`${first!.name}.revoked.json`, `${second.name}.pem`]);
    const loaded = await store.load();
    expect(ids(loaded)).toEqual(ids([first!, second]));
    expect(loaded.map((k) => [Boolean(k.privateKey), k.revokedAt?.getTime()])).toEqual([
      [false, 1002],
      [true, undefined],
    ]);
  });
});
