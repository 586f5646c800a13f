import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadOrCreateOperatorKey } from '../auth/operator-key';
import { loadOrCreateSecretBox } from '../registries/secret-box';
import { loadOrCreateTokenIssuer } from '../registries/tokens/token-issuer';
import { KeyStore } from '../signing/key-store';
import { mountSmallDisk, type SmallDisk } from '../../../test/support/small-disk';
import { loadOrCreateTlsMaterial } from '../tls/tls-material';
import { DataFileWriteError } from './data-file';

let disk: SmallDisk;
beforeAll(async () => {
  disk = await mountSmallDisk();
});
afterAll(() => disk.unmount());
afterEach(() => disk.free());

/** Every file the control plane makes in its data directory, by what makes it at start. */
const WRITERS: [string, (dataDir: string) => Promise<unknown>][] = [
  ['the operator key', (d) => loadOrCreateOperatorKey(d)],
  ['the secrets key', (d) => loadOrCreateSecretBox(d)],
  ['the registry token issuer', (d) => loadOrCreateTokenIssuer(d)],
  ['the release-signing key', (d) => KeyStore.inDataDir(d).loadOrCreate()],
  ['the TLS CAs and server certificate', (d) => loadOrCreateTlsMaterial(d, { kind: 'generated', extraNames: [] })],
];

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

describe('a full disk at start (real tmpfs)', () => {
  it.each(WRITERS)('writing %s fails naming the file, leaves nothing torn, and the next start succeeds', async (_what, start) => {
    const dataDir = join(disk.path, `data-${Math.random().toString(36).slice(2)}`);
    await mkdir(join(dataDir, 'tls'), { recursive: true });
    await mkdir(join(dataDir, 'release-signing-keys'), { recursive: true });
    await disk.fill();
    const failed = await start(dataDir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failed).toBeInstanceOf(DataFileWriteError);
    expect(failed).toMatchObject({ diskFull: true, message: expect.stringContaining(dataDir) });
    // Before: a created but empty file, which the next start refused or took for a key.
    expect(await filesUnder(dataDir)).toEqual([]);

    await disk.free();
    const first = await start(dataDir);
    expect(first).toBeDefined();
    expect((await filesUnder(dataDir)).some((f) => f.includes('.tmp'))).toBe(false);
    await expect(start(dataDir)).resolves.toBeDefined();
  });

  it('a revocation that does not fit leaves the key usable and unrevoked, and succeeds once there is room', async () => {
    const dir = join(disk.path, 'keys');
    const store = new KeyStore(dir);
    const [key] = await store.loadOrCreate();
    await disk.fill();
    await expect(store.revoke(key!)).rejects.toMatchObject({ name: 'DataFileWriteError', diskFull: true });
    expect((await readdir(dir)).sort()).toEqual([`${key!.name}.pem`]);
    expect((await store.load()).map((k) => Boolean(k.privateKey))).toEqual([true]);
    await disk.free();
    await store.revoke(key!);
    expect(await readdir(dir)).toEqual([`${key!.name}.revoked.json`]);
  });
});
