import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DataFileInvalidError, readIfExists, writeDurable } from '../data-dir/data-file';

/** Where the key that seals registry passwords lives, under the data directory. */
export const SECRETS_KEY_FILE = 'secrets.key';

const VERSION = 'v1';

/** A sealed value could not be opened: another key, or a tampered row. */
export class SecretUnreadableError extends Error {
  readonly code = 'secret_unreadable';
}

/**
 * Seals secrets stored in the database (AES-256-GCM, random 96-bit nonce), so a dump or a
 * backup of the database alone does not give them away. `context` is bound into the tag
 * (additional authenticated data): a value copied to another row does not open there.
 */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error(`a secrets key is 32 bytes, not ${key.length}`);
  }

  seal(plain: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join(':');
  }

  open(sealed: string, context: string): string {
    const [version, iv, tag, body] = sealed.split(':');
    if (version !== VERSION || iv === undefined || tag === undefined || body === undefined) {
      throw new SecretUnreadableError(`not a sealed secret (expected ${VERSION}:iv:tag:body)`);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretUnreadableError(`the secret for ${context} does not open with this control plane's ${SECRETS_KEY_FILE}`);
    }
  }
}

/**
 * The key in `<dataDir>/secrets.key` (0600), made on first start. Every replica of the control
 * plane needs the same file, as with the release-signing keys beside it.
 */
export async function loadOrCreateSecretBox(dataDir: string): Promise<SecretBox> {
  const path = join(dataDir, SECRETS_KEY_FILE);
  const existing = await readIfExists(path);
  if (existing !== undefined) return new SecretBox(parseKey(path, existing));
  const key = randomBytes(32);
  try {
    // Exclusive: another replica or process that made it first wins, and its key is read back.
    await writeDurable(path, `${key.toString('base64')}\n`, { mode: 0o600, exclusive: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return loadOrCreateSecretBox(dataDir);
  }
  return new SecretBox(key);
}

/** 32 bytes in base64 and nothing else: a torn or edited file would seal with a key no other replica has. */
function parseKey(path: string, text: string): Buffer {
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, 'base64');
  if (key.length !== 32 || key.toString('base64') !== trimmed)
    throw new DataFileInvalidError(
      path,
      'does not hold a secrets key (32 bytes in base64)',
      'restore it from a backup or another replica; removing it makes a new key, and every stored registry password must then be entered again',
    );
  return key;
}
