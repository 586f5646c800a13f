import { flag, has, type Parsed } from '../args';
import { printJson, type Context } from '../context';
import { EXIT, usage } from '../errors';
import { ago, table } from '../format';

export const REGISTRIES_FLAGS = { json: {}, username: { value: true, short: 'u' }, 'password-stdin': {}, ttl: { value: true } } as const;

/**
 * Logins for private registries (admin keys only). The password is read from stdin, never
 * from an argument, so it stays out of shell history and `ps`.
 */
export async function registries(ctx: Context, p: Parsed): Promise<number> {
  const [, sub, host, fleet] = p.positionals;
  if (sub === 'ls' || sub === 'list') {
    const all = await ctx.api('GET /api/v1/registries');
    if (has(p, 'json')) printJson(ctx, all);
    else
      ctx.out(
        table(
          ['REGISTRY', 'USERNAME', 'FLEETS', 'UPDATED', 'BY'],
          all.map((r) => [r.registry, r.username, r.grantedFleetIds.join(',') || '-', ago(r.updatedAt), r.updatedBy]),
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
    const saved = await ctx.api('PUT /api/v1/registries/:host/credentials', { params: { host }, body: { username, password } });
    ctx.out(
      `${saved.registry}: login of ${saved.username} saved; devices get it with their next desired state (assign the release again to retry a refused pull)`,
    );
    return EXIT.ok;
  }
  if (sub === 'rm' || sub === 'remove') {
    if (!host) throw usage('usage: flotilla registries rm HOST');
    const removed = await ctx.api('DELETE /api/v1/registries/:host/credentials', { params: { host } });
    ctx.out(`${removed.registry}: login removed`);
    return EXIT.ok;
  }
  if (sub === 'grant' || sub === 'revoke') {
    if (!host || !fleet) throw usage(`usage: flotilla registries ${sub} HOST FLEET_ID`);
    const grant = { params: { host, fleetId: fleet } };
    const after =
      sub === 'grant'
        ? await ctx.api('PUT /api/v1/registries/:host/grants/:fleetId', grant)
        : await ctx.api('DELETE /api/v1/registries/:host/grants/:fleetId', grant);
    ctx.out(
      `${after.registry}: login granted to ${after.grantedFleetIds.length} fleet(s)${after.grantedFleetIds.length ? `: ${after.grantedFleetIds.join(', ')}` : ''}`,
    );
    return EXIT.ok;
  }
  if (sub === 'token-auth') {
    if (!host) throw usage('usage: flotilla registries token-auth HOST [--ttl SECONDS]');
    const ttl = flag(p, 'ttl');
    const body = ttl === undefined ? {} : { ttlSeconds: Number(ttl) };
    const marked = await ctx.api('PUT /api/v1/registries/:host/token-auth', { params: { host }, body });
    if (has(p, 'json')) printJson(ctx, marked);
    else
      ctx.out(
        `${marked.registry}: devices get ${marked.ttlSeconds} s pull tokens; configure the registry with:\n${marked.registryConfig}\n${marked.rootCertificate}`,
      );
    return EXIT.ok;
  }
  throw usage(
    `unknown command "registries ${sub ?? ''}"`,
    'flotilla registries ls|set HOST --username U --password-stdin|rm HOST|grant HOST FLEET|revoke HOST FLEET|token-auth HOST [--ttl S]',
  );
}
