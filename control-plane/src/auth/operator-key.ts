import { join } from 'node:path';
import { DataFileInvalidError, readIfExists, writeDurable } from '../data-dir/data-file';
import { randomSecret } from './secrets';

export interface OperatorKey {
  key: string;
  /** Where it is kept, when it came from the data directory rather than the environment. */
  path?: string;
  /** True when this start created it: the only time it is printed in full. */
  generated: boolean;
}

export const OPERATOR_KEY_FILE = 'operator-key';

/** What `randomSecret('fok_')` makes, or a key an operator put there (at least 32 characters, no space). */
const OPERATOR_KEY = /^(fok_[A-Za-z0-9_-]{43}|(?!fok_)[\x21-\x7e]{32,})$/;

/** The configured key, else the one kept in `<dataDir>/operator-key`, else a new one written there (0600). */
export async function loadOrCreateOperatorKey(dataDir: string, configured?: string): Promise<OperatorKey> {
  if (configured) return { key: configured, generated: false };
  const path = join(dataDir, OPERATOR_KEY_FILE);
  const existing = await readIfExists(path);
  if (existing !== undefined) {
    const key = existing.trim();
    // A key cut short would still be accepted as the operator key, and no one would know it.
    if (!OPERATOR_KEY.test(key))
      throw new DataFileInvalidError(
        path,
        'does not hold a whole operator key (fok_ and 43 base64url characters, or 32 or more printable characters)',
        'remove it to have a new key made and printed at the next start, or set FLOTILLA_API_KEY',
      );
    return { key, path, generated: false };
  }
  const key = randomSecret('fok_');
  // Exclusive: fails if another process created it meanwhile, rather than silently replacing its key.
  await writeDurable(path, `${key}\n`, { mode: 0o600, exclusive: true });
  return { key, path, generated: true };
}
