import type { RolloutPlan, RolloutStatus } from '@flotilla/shared';
import { flag, flags, has, intFlag, type Parsed } from '../args';
import { printJson, type Context } from '../context';
import { EXIT, usage } from '../errors';
import { ago, rolloutLine, rolloutLines, table, terminalSafe } from '../format';
import { parsePhase } from '../phase-spec';
import { resolveFleet, resolveRelease } from '../resolve';

export const ROLLOUTS_FLAGS = {
  json: {},
  release: { value: true },
  name: { value: true },
  fleet: { value: true },
  tag: { value: true, many: true },
  device: { value: true, many: true },
  phase: { value: true, many: true },
  manual: {},
  timeout: { value: true },
  watch: {},
  status: { value: true },
  interval: { value: true },
} as const;

const TERMINAL = ['completed', 'aborted', 'rolled-back'];

export async function rollouts(ctx: Context, p: Parsed): Promise<number> {
  const [, sub, id] = p.positionals;
  switch (sub) {
    case 'ls':
    case 'list':
      return list(ctx, p);
    case 'plan':
    case 'create':
      return create(ctx, p, sub);
    case 'show': {
      const r = await ctx.api('GET /api/v1/rollouts/:id', { params: { id: need(id, 'show') } });
      if (has(p, 'json')) printJson(ctx, r);
      else ctx.out(rolloutLines(r).join('\n'));
      return EXIT.ok;
    }
    case 'watch':
      return watch(ctx, p, need(id, 'watch'));
    case 'pause':
    case 'resume':
    case 'abort':
    case 'rollback':
    case 'advance': {
      const r = await ctx.api(`POST /api/v1/rollouts/:id/${sub}`, { params: { id: need(id, sub) } });
      if (has(p, 'json')) printJson(ctx, r);
      else ctx.out(`${r.name}: ${r.status}${r.statusReason ? ` - ${r.statusReason}` : ''}`);
      return EXIT.ok;
    }
    default:
      throw usage(`unknown command "rollouts ${sub ?? ''}"`, 'flotilla rollouts ls|plan|create|show|watch|pause|resume|abort|rollback');
  }
}

function need(id: string | undefined, sub: string): string {
  if (!id) throw usage(`usage: flotilla rollouts ${sub} ROLLOUT_ID`, 'find ids with `flotilla rollouts ls`');
  return id;
}

async function list(ctx: Context, p: Parsed): Promise<number> {
  const status = flag(p, 'status');
  const page = await ctx.api('GET /api/v1/rollouts', { query: { limit: 100, status: status as RolloutStatus | undefined } });
  if (has(p, 'json')) printJson(ctx, page.items);
  else {
    ctx.out(
      table(
        ['ID', 'NAME', 'STATUS', 'PHASE', 'DONE', 'FAILED', 'STARTED'],
        page.items.map((r) => [
          r.id,
          r.name,
          r.status,
          `${Math.min(r.currentPhase + 1, r.phases.length)}/${r.phases.length}`,
          `${r.totals.succeeded}/${r.totals.devices}`,
          r.totals.failed,
          ago(r.createdAt),
        ]),
      ),
    );
  }
  return EXIT.ok;
}

async function create(ctx: Context, p: Parsed, sub: 'plan' | 'create'): Promise<number> {
  const releaseRef = flag(p, 'release');
  if (!releaseRef)
    throw usage(`usage: flotilla rollouts ${sub} --release RELEASE (--fleet F | --tag T | --device D)… [--phase NAME:SIZE…]`);
  const fleetRef = flag(p, 'fleet');
  const selection = {
    ...(fleetRef ? { fleetId: (await resolveFleet(ctx, fleetRef)).id } : {}),
    ...(flags(p, 'tag').length ? { tags: flags(p, 'tag') } : {}),
    ...(flags(p, 'device').length ? { deviceIds: flags(p, 'device') } : {}),
  };
  if (Object.keys(selection).length === 0) throw usage('select devices with --fleet, --tag or --device (they combine with AND)');
  const request = {
    releaseId: (await resolveRelease(ctx, releaseRef)).id,
    ...(flag(p, 'name') ? { name: flag(p, 'name') } : {}),
    selection,
    ...(flags(p, 'phase').length ? { phases: flags(p, 'phase').map(parsePhase) } : {}),
    advance: has(p, 'manual') ? ('manual' as const) : ('auto' as const),
    ...(flag(p, 'timeout') ? { deviceTimeoutSeconds: intFlag(p, 'timeout', 1800, 1) } : {}),
  };
  if (sub === 'plan') {
    const plan = await ctx.api('POST /api/v1/rollouts/plan', { body: request });
    if (has(p, 'json')) printJson(ctx, plan);
    else ctx.out(planText(plan));
    return EXIT.ok;
  }
  const r = await ctx.api('POST /api/v1/rollouts', { body: request });
  if (has(p, 'json') && !has(p, 'watch')) printJson(ctx, r);
  else ctx.out(`started rollout ${r.id} (${r.name}) on ${r.totals.devices} devices`);
  return has(p, 'watch') ? watch(ctx, p, r.id) : EXIT.ok;
}

export function planText(plan: RolloutPlan): string {
  const lines = [`${plan.devices.length} devices to ${plan.targetVersion}`];
  for (const ph of plan.phases) lines.push(`  phase ${ph.index + 1} ${ph.name}: ${ph.devices} devices`);
  const already = plan.devices.filter((d) => d.alreadyOnTarget).length;
  if (already) lines.push(`  ${already} already run it`);
  for (const n of plan.notes) lines.push(`note: ${n}`);
  lines.push(
    '',
    table(
      ['DEVICE', 'PHASE', 'FROM', 'CHANGES', 'IMAGES', 'DOWNLOAD', 'WITH DELTAS'],
      plan.devices.map((d) => [
        d.name,
        d.phase + 1,
        d.currentVersion,
        d.changes.map((c) => `${c.component} ${c.change}`).join(', ') || '-',
        d.imagesToFetch.length,
        d.downloadBytes ?? '?',
        d.deltaDownloadBytes ?? '?',
      ]),
    ),
  );
  return lines.join('\n');
}

/**
 * Redraws the phases' progress bars in place on a terminal; elsewhere prints a line whenever
 * something changed. Ends with the rollout: 0 when completed, 5 when aborted or rolled back.
 */
async function watch(ctx: Context, p: Parsed, id: string): Promise<number> {
  const interval = intFlag(p, 'interval', 1000, 100, 60_000);
  let drawn = 0;
  let last = '';
  for (;;) {
    const r = await ctx.api('GET /api/v1/rollouts/:id', { params: { id } });
    if (has(p, 'json')) {
      const line = JSON.stringify({ status: r.status, currentPhase: r.currentPhase, totals: r.totals, statusReason: r.statusReason });
      if (line !== last) ctx.out(line);
      last = line;
    } else if (ctx.isTTY) {
      const lines = rolloutLines(r);
      // Cursor up over the previous drawing, then clear each line as it is rewritten.
      ctx.write(`${drawn ? `\x1b[${drawn}A` : ''}${lines.map((l) => `\x1b[2K${terminalSafe(l)}\n`).join('')}`);
      drawn = lines.length;
    } else {
      const line = rolloutLine(r);
      if (line !== last) ctx.out(line);
      last = line;
    }
    if (TERMINAL.includes(r.status)) return r.status === 'completed' ? EXIT.ok : EXIT.rolloutFailed;
    await ctx.sleep(interval);
  }
}
