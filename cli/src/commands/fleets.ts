import { has, type Parsed } from '../args';
import { printJson, type Context } from '../context';
import { EXIT, usage } from '../errors';
import { ago, table } from '../format';
import { resolveFleet } from '../resolve';

export const FLEETS_FLAGS = { json: {} } as const;

export async function fleets(ctx: Context, p: Parsed): Promise<number> {
  const [, sub, ref] = p.positionals;
  if (sub === 'ls' || sub === 'list') {
    const all = await ctx.api('GET /api/v1/fleets');
    if (has(p, 'json')) printJson(ctx, all);
    else
      ctx.out(
        table(
          ['ID', 'NAME', 'DEVICES', 'TARGET RELEASE', 'BOARDS', 'CREATED'],
          all.map((f) => [f.id, f.name, f.deviceCount, f.targetReleaseId, f.boards.join(',') || 'any', ago(f.createdAt)]),
        ),
      );
    return EXIT.ok;
  }
  if (sub === 'show') {
    if (!ref) throw usage('usage: flotilla fleets show FLEET');
    const f = await resolveFleet(ctx, ref);
    if (has(p, 'json')) printJson(ctx, f);
    else {
      ctx.out(
        [
          `${f.name}`,
          `id       ${f.id}`,
          `devices  ${f.deviceCount}`,
          `target   ${f.targetReleaseId ?? '-'}`,
          `boards   ${f.boards.join(', ') || 'any'}`,
          `config   ${Object.keys(f.config).length ? JSON.stringify(f.config) : '-'}`,
        ].join('\n'),
      );
    }
    return EXIT.ok;
  }
  throw usage(`unknown command "fleets ${sub ?? ''}"`, 'flotilla fleets ls|show FLEET');
}
