import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomSecret } from './secrets';

export interface OperatorKey {
  key: string;
  /** Where it is kept, when it came from the data directory rather than the environment. */
  path?: string;
  /** True when this start created it: the only time it is printed in full. */
  generated: boolean;
}

export const OPERATOR_KEY_FILE = 'operator-key';

/** The configured key, else the one kept in `<dataDir>/operator-key`, else a new one written there (0600). */
export async function loadOrCreateOperatorKey(dataDir: string, configured?: string): Promise<OperatorKey> {
  if (configured) return { key: configured, generated: false };
  const path = join(dataDir, OPERATOR_KEY_FILE);
  const existing = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (existing?.trim()) return { key: existing.trim(), path, generated: false };
  const key = randomSecret('fok_');
  // `wx` fails if another process created it meanwhile, rather than silently replacing its key.
  await writeFile(path, `${key}\n`, { mode: 0o600, flag: 'wx' });
  return { key, path, generated: true };
}
