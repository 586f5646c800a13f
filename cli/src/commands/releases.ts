import { readFile } from 'node:fs/promises';
import type { ReleaseDiff } from '@flotilla/shared';
import { has, type Parsed } from '../args';
import { ApiCallError } from '../client';
import { printJson, type Context } from '../context';
import { CliError, EXIT, usage } from '../errors';
import { ago, table } from '../format';
import { allReleases, resolveRelease } from '../resolve';

export const RELEASES_FLAGS = { json: {} } as const;

export async function releases(ctx: Context, p: Parsed): Promise<number> {
  const [, sub, a, b] = p.positionals;
  switch (sub) {
    case 'ls':
    case 'list': {
      const all = await allReleases(ctx);
      if (has(p, 'json')) printJson(ctx, all);
      else
        ctx.out(
          table(
            ['ID', 'NAME', 'VERSION', 'COMPONENTS', 'BY', 'PUBLISHED'],
            all.map((r) => [r.id, r.name, r.version, r.assembly.components.length, r.createdBy, ago(r.createdAt)]),
          ),
        );
      return EXIT.ok;
    }
    case 'push':
      if (!a) throw usage('usage: flotilla releases push assembly.yaml');
      return push(ctx, p, a);
    case 'show': {
      if (!a) throw usage('usage: flotilla releases show RELEASE');
      const r = await resolveRelease(ctx, a);
      if (has(p, 'json')) printJson(ctx, r);
      else {
        ctx.out(`${r.name} ${r.version}\nid      ${r.id}\ndigest  ${r.digest}\nsigned  ${r.signature.keyId}\n`);
        ctx.out(
          table(
            ['COMPONENT', 'IMAGE'],
            r.assembly.components.map((c) => [c.name, c.image]),
          ),
        );
      }
      return EXIT.ok;
    }
    case 'diff': {
      if (!a || !b) throw usage('usage: flotilla releases diff FROM TO', 'FROM and TO are ids, versions or NAME@VERSION');
      const [from, to] = await Promise.all([resolveRelease(ctx, a), resolveRelease(ctx, b)]);
      const diff = await ctx.api('GET /api/v1/releases/:id/diff/:otherId', { params: { id: from.id, otherId: to.id } });
      if (has(p, 'json')) printJson(ctx, diff);
      else ctx.out(diffText(diff));
      return EXIT.ok;
    }
    default:
      throw usage(`unknown command "releases ${sub ?? ''}"`, 'flotilla releases ls|show|push|diff');
  }
}

async function push(ctx: Context, p: Parsed, file: string): Promise<number> {
  let yaml: string;
  try {
    yaml = await readFile(file, 'utf8');
  } catch (e) {
    throw new CliError(
      EXIT.usage,
      `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      'give the path of an assembly YAML',
    );
  }
  try {
    const r = await ctx.api('POST /api/v1/releases', { body: yaml });
    if (has(p, 'json')) printJson(ctx, r);
    else ctx.out(`published ${r.name} ${r.version} (${r.id})`);
    return EXIT.ok;
  } catch (e) {
    // Each issue at its path in the file, as a compiler would.
    if (e instanceof ApiCallError && e.body.issues?.length) {
      for (const i of e.body.issues) ctx.err(`${file}: ${i.path || '(document)'}: ${i.message}`);
      throw new CliError(
        e.exitCode,
        `${file} is not a valid assembly (${e.body.issues.length} issue${e.body.issues.length === 1 ? '' : 's'})`,
        'fix the paths above and push again',
      );
    }
    throw e;
  }
}

export function diffText(d: ReleaseDiff): string {
  const lines = [`${d.from.name} ${d.from.version} -> ${d.to.name} ${d.to.version}`];
  for (const c of d.components.added) lines.push(`+ ${c}`);
  for (const c of d.components.removed) lines.push(`- ${c}`);
  for (const c of d.components.changed) lines.push(`~ ${c.name} (${c.fields.join(', ')})`);
  for (const c of d.components.unchanged) lines.push(`= ${c}`);
  if (d.assemblyFields.length) lines.push(`assembly: ${d.assemblyFields.join(', ')} changed`);
  lines.push(d.imagesToFetch.length ? `images to fetch:\n  ${d.imagesToFetch.join('\n  ')}` : 'no images to fetch');
  return lines.join('\n');
}
