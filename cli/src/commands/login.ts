import { flag, type Parsed } from '../args';
import { client } from '../client';
import { saveConfig } from '../config';
import type { Context } from '../context';
import { EXIT, usage } from '../errors';

export const LOGIN_FLAGS = { key: { value: true }, api: { value: true } } as const;

/** Checks the key against the API, then saves it (0600) for later commands. */
export async function login(ctx: Context, p: Parsed): Promise<number> {
  const key = flag(p, 'key') ?? ctx.env.FLOTILLA_API_KEY;
  if (!key)
    throw usage('usage: flotilla login --key KEY [--api URL]', 'the bootstrap key is printed at the first start of the control plane');
  const api = (flag(p, 'api') ?? ctx.config.api).replace(/\/+$/, '');
  const config = { api, key, keySource: 'file' as const };
  await client(config)('GET /api/v1/dashboard/overview');
  const path = await saveConfig(ctx.env, { api, key });
  ctx.out(`signed in to ${api}; key saved in ${path}`);
  return EXIT.ok;
}
