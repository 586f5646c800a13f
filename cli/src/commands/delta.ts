import type { ImageDelta } from '@flotilla/shared';
import { flags, has, type Parsed } from '../args';
import { printJson, type Context } from '../context';
import { EXIT, usage } from '../errors';
import { table } from '../format';

export const DELTA_FLAGS = { arch: { value: true, many: true }, json: {} } as const;

/**
 * `flotilla delta FROM TO [--arch A]…`: a CI step after pushing a release's images, so the
 * control plane computes the binary layer deltas before the first device asks (it would
 * otherwise compute them then, and that device would wait). Waits for them; exit 1 if one failed.
 */
export async function delta(ctx: Context, p: Parsed): Promise<number> {
  const [, from, to] = p.positionals;
  if (!from || !to)
    throw usage(
      'usage: flotilla delta FROM_IMAGE TO_IMAGE [--arch A]… (A: arm64, amd64, arm/v7, arm/v6)',
      'both images pinned by digest (host/repo@sha256:…)',
    );
  const architectures = flags(p, 'arch').length > 0 ? flags(p, 'arch') : ['arm64'];
  const deltas: ImageDelta[] = [];
  for (const architecture of architectures) {
    deltas.push(await ctx.api('POST /api/v1/deltas', { body: { from, to, architecture } }));
  }
  if (has(p, 'json')) printJson(ctx, deltas);
  else
    ctx.out(
      table(
        ['ARCH', 'STATUS', 'LAYERS (held/delta/full)', 'DOWNLOAD', 'FULL PULL', 'RATIO'],
        deltas.map((d) => [
          d.architecture,
          d.status === 'failed' ? `failed: ${d.error}` : d.status,
          (['held', 'delta', 'full'] as const).map((s) => d.layers.filter((l) => l.source === s).length).join('/'),
          d.deltaBytes,
          d.fullBytes,
          d.deltaBytes && d.fullBytes ? `${(d.fullBytes / d.deltaBytes).toFixed(1)}×` : '',
        ]),
      ),
    );
  return deltas.every((d) => d.status === 'ready') ? EXIT.ok : EXIT.api;
}
