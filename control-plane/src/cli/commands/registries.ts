import type { RegistryCredentialsView } from '@flotilla/shared';
import { flag, has, type Parsed } from '../args';
import { printJson, type Context } from '../context';
import { EXIT, usage } from '../errors';
import { ago, table } from '../format';

export const REGISTRIES_FLAGS = { json: {}, username: { value: true, short: 'u' }, 'password-stdin': {} } as const;

const path = (host: string) => `/api/v1/registries/${encodeURIComponent(host)}/credentials`;

/**
 * Logins for private registries (admin keys only). The password is read from stdin, never
 * from an argument, so it stays out of shell history and `ps`.
 */
export async function registries(ctx: Context, p: Parsed): Promise<number> {
  const [, sub, host] = p.positionals;
  if (sub === 'ls' || sub === 'list') {
    const all = await ctx.api<RegistryCredentialsView[]>('/api/v1/registries');
    if (has(p, 'json')) printJson(ctx, all);
    else
      ctx.out(
        table(
          ['REGISTRY', 'USERNAME', 'UPDATED', 'BY'],
          all.map((r) => [r.registry, r.username, ago(r.updatedAt), r.updatedBy]),
        ),
      );
    return EXIT.ok;
  }
  if (sub === 'set') {
    const username = flag(p, 'username');
    if (!host || !username || !has(p, 'password-stdin'))
      throw usage(
        'usage: flotilla registries set HOST --username USER --password-stdin',
        'pipe the password in: echo "$PASS" | flotilla registries set …',
      );
    const password = (await ctx.stdin()).replace(/\r?\n$/, '');
    if (!password) throw usage('no password on stdin', 'pipe the password in: echo "$PASS" | flotilla registries set …');
    const saved = await ctx.api<RegistryCredentialsView>(path(host), { method: 'PUT', body: { username, password } });
    ctx.out(
      `${saved.registry}: login of ${saved.username} saved; devices get it with their next desired state (assign the release again to retry a refused pull)`,
    );
    return EXIT.ok;
  }
  if (sub === 'rm' || sub === 'remove') {
    if (!host) throw usage('usage: flotilla registries rm HOST');
    const removed = await ctx.api<RegistryCredentialsView>(path(host), { method: 'DELETE' });
    ctx.out(`${removed.registry}: login removed`);
    return EXIT.ok;
  }
  throw usage(`unknown command "registries ${sub ?? ''}"`, 'flotilla registries ls|set HOST --username U --password-stdin|rm HOST');
}
