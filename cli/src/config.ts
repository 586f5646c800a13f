import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export const DEFAULT_API = 'http://127.0.0.1:3000';

export interface CliConfig {
  api: string;
  key: string | undefined;
  /** Where the key came from, for error messages. */
  keySource: 'env' | 'file' | 'none';
}

export type Env = Readonly<Record<string, string | undefined>>;

export function configPath(env: Env): string {
  const base = env.XDG_CONFIG_HOME?.trim() || join(env.HOME?.trim() || homedir(), '.config');
  return join(base, 'flotilla', 'config.json');
}

/** Environment first (FLOTILLA_API, FLOTILLA_API_KEY), then the file `flotilla login` wrote. */
export async function loadConfig(env: Env): Promise<CliConfig> {
  let file: { api?: string; key?: string } = {};
  try {
    file = JSON.parse(await readFile(configPath(env), 'utf8')) as typeof file;
  } catch {
    // No file yet (or unreadable): the environment and defaults apply.
  }
  const envKey = env.FLOTILLA_API_KEY?.trim();
  const api = (env.FLOTILLA_API?.trim() || file.api || DEFAULT_API).replace(/\/+$/, '');
  if (envKey) return { api, key: envKey, keySource: 'env' };
  if (file.key) return { api, key: file.key, keySource: 'file' };
  return { api, key: undefined, keySource: 'none' };
}

/** Readable by the user only: it holds an operator key. */
export async function saveConfig(env: Env, config: { api: string; key: string }): Promise<string> {
  const path = configPath(env);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
  return path;
}
