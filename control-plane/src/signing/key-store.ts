import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One ed25519 private key as kept on disk, with when it was made (rotation order). */
export interface StoredKey {
  privateKey: KeyObject;
  createdAt: Date;
}

/** Where the release-signing keys live, under the data directory. */
export const SIGNING_KEYS_DIR = 'release-signing-keys';

const FILE = /^(\d{13})-[0-9a-f]{8}\.pem$/;

/**
 * The control plane's release-signing keys as PKCS#8 PEM files (0600), one per key, named
 * `<created ms>-<random>.pem` so that listing the directory gives the rotation order. Keys are
 * never deleted: devices provisioned with an old key still verify the releases it signed.
 */
export class KeyStore {
  constructor(
    private readonly dir: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  static inDataDir(dataDir: string): KeyStore {
    return new KeyStore(join(dataDir, SIGNING_KEYS_DIR));
  }

  /** Oldest first; creates the first key when there is none (first start). */
  async loadOrCreate(): Promise<StoredKey[]> {
    const keys = await this.load();
    if (keys.length > 0) return keys;
    return [await this.create()];
  }

  async load(): Promise<StoredKey[]> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const files = (await readdir(this.dir)).filter((f) => FILE.test(f)).sort();
    return Promise.all(
      files.map(async (f) => ({
        privateKey: createPrivateKey(await readFile(join(this.dir, f), 'utf8')),
        createdAt: new Date(Number(FILE.exec(f)![1])),
      })),
    );
  }

  /** A new key, written before it is used; `wx` never replaces an existing file. */
  async create(): Promise<StoredKey> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    const createdAt = this.now();
    const suffix = Math.floor(Math.random() * 0xffffffff)
      .toString(16)
      .padStart(8, '0');
    const name = `${String(createdAt.getTime()).padStart(13, '0')}-${suffix}.pem`;
    await writeFile(join(this.dir, name), privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600, flag: 'wx' });
    return { privateKey, createdAt };
  }
}
