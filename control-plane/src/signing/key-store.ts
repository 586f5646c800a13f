import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { DataFileInvalidError, removeDurable, writeDurable } from '../data-dir/data-file';

/**
 * One signing key as kept on disk, with when it was made (rotation order). A revoked key keeps
 * only its public half: the private key is destroyed when it is revoked.
 */
export type StoredKey = { name: string; createdAt: Date; publicKey: KeyObject } & (
  { privateKey: KeyObject; revokedAt?: undefined } | { privateKey?: undefined; revokedAt: Date }
);

/** Where the release-signing keys live, under the data directory. */
export const SIGNING_KEYS_DIR = 'release-signing-keys';

const FILE = /^(\d{13})-[0-9a-f]{8}\.pem$/;
const REVOKED = /^(\d{13})-[0-9a-f]{8}\.revoked\.json$/;
const RevokedFile = z.object({ publicKey: z.string(), revokedAt: z.string().datetime({ offset: true }) });

/**
 * The control plane's release-signing keys as PKCS#8 PEM files (0600), one per key, named
 * `<created ms>-<random>.pem` so that listing the directory gives the rotation order. Revoking a
 * key writes `<name>.revoked.json` (its public key and when) and then deletes its private key;
 * a crash between the two leaves both, and the revocation wins on the next load.
 */
export class KeyStore {
  constructor(
    private readonly dir: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  static inDataDir(dataDir: string): KeyStore {
    return new KeyStore(join(dataDir, SIGNING_KEYS_DIR));
  }

  /** Oldest first; creates the first key when there is none usable (first start). */
  async loadOrCreate(): Promise<StoredKey[]> {
    const keys = await this.load();
    if (keys.some((k) => k.privateKey)) return keys;
    return [...keys, await this.create()];
  }

  async load(): Promise<StoredKey[]> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const files = await readdir(this.dir);
    const revoked = new Map<string, StoredKey>();
    for (const f of files.filter((f) => REVOKED.test(f))) {
      const name = f.replace(/\.revoked\.json$/, '');
      const path = join(this.dir, f);
      // A revocation that cannot be read must stop the start: taking its key as valid would let it sign again.
      const parsed = readKeyFile(path, REVOKED_REMEDY, async () => {
        const file = RevokedFile.parse(JSON.parse(await readFile(path, 'utf8')));
        return { publicKey: createPublicKey(file.publicKey), revokedAt: new Date(file.revokedAt) };
      });
      revoked.set(name, { name, createdAt: createdAt(name), ...(await parsed) });
    }
    const keys: StoredKey[] = [...revoked.values()];
    for (const f of files.filter((f) => FILE.test(f))) {
      const name = f.replace(/\.pem$/, '');
      if (revoked.has(name)) {
        await removeDurable(join(this.dir, f)); // the revocation was written, the deletion not yet
        continue;
      }
      const path = join(this.dir, f);
      const privateKey = await readKeyFile(path, KEY_REMEDY, async () => createPrivateKey(await readFile(path, 'utf8')));
      keys.push({ name, createdAt: createdAt(name), privateKey, publicKey: createPublicKey(privateKey) });
    }
    return keys.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** A new key, written whole before it is used; never replaces an existing file. */
  async create(): Promise<StoredKey> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const created = this.now();
    const suffix = Math.floor(Math.random() * 0xffffffff)
      .toString(16)
      .padStart(8, '0');
    const name = `${String(created.getTime()).padStart(13, '0')}-${suffix}`;
    await writeDurable(join(this.dir, `${name}.pem`), privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), {
      mode: 0o600,
      exclusive: true,
    });
    return { name, createdAt: created, privateKey, publicKey };
  }

  /** Records the revocation, then destroys the private key: a revoked key can never sign again. */
  async revoke(key: StoredKey): Promise<StoredKey> {
    const revokedAt = this.now();
    const publicKey = key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await writeDurable(
      join(this.dir, `${key.name}.revoked.json`),
      JSON.stringify({ publicKey, revokedAt: revokedAt.toISOString() }) + '\n',
      {
        mode: 0o600,
      },
    );
    await removeDurable(join(this.dir, `${key.name}.pem`));
    return { name: key.name, createdAt: key.createdAt, publicKey: key.publicKey, revokedAt };
  }
}

const KEY_REMEDY = 'restore it from a backup or another replica, or move it out of the directory to start without that key';
const REVOKED_REMEDY = 'restore it from a backup or another replica; never remove it, or the revoked key could sign again';

async function readKeyFile<T>(path: string, remedy: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    throw new DataFileInvalidError(path, `cannot be read as a signing key file (${(e as Error).message})`, remedy);
  }
}

function createdAt(name: string): Date {
  return new Date(Number(name.slice(0, 13)));
}
