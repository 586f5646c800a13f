import {
  DASHBOARD_DEVICE_SORTS as DEVICE_SORTS,
  DASHBOARD_DEVICE_STATUSES as DEVICE_STATUSES,
  type CommandResultView,
  type DashboardDeviceQuery,
  type DashboardDeviceStatus,
  type SendCommandRequest,
} from '@flotilla/shared';
import { flag, has, intFlag, type Parsed } from '../args';
import { printJson, type Context } from '../context';
import { CliError, EXIT, usage } from '../errors';
import { ago, newLogLines, table } from '../format';
import { resolveDevice, resolveFleet } from '../resolve';

export const DEVICES_FLAGS = {
  json: {},
  search: { value: true, short: 'q' },
  fleet: { value: true },
  tag: { value: true },
  status: { value: true },
  sort: { value: true },
  limit: { value: true },
  offset: { value: true },
  follow: { short: 'f' },
  tail: { value: true },
  timeout: { value: true },
} as const;

export async function devices(ctx: Context, p: Parsed): Promise<number> {
  const [, sub, ref, component] = p.positionals;
  switch (sub) {
    case 'ls':
    case 'list':
      return list(ctx, p);
    case 'show':
      return show(ctx, p, need(ref, 'devices show DEVICE'));
    case 'logs':
      return logs(ctx, p, need(ref, 'devices logs DEVICE COMPONENT [-f]'), need(component, 'devices logs DEVICE COMPONENT [-f]'));
    case 'reboot':
    case 'rollback':
    case 'identify':
      return command(ctx, p, need(ref, `devices ${sub} DEVICE`), sub);
    default:
      throw usage(`unknown command "devices ${sub ?? ''}"`, 'flotilla devices ls|show|logs|reboot|rollback|identify');
  }
}

const need = (value: string | undefined, form: string): string => {
  if (!value) throw usage(`usage: flotilla ${form}`);
  return value;
};

async function list(ctx: Context, p: Parsed): Promise<number> {
  const status = flag(p, 'status');
  if (status && !(DEVICE_STATUSES as readonly string[]).includes(status))
    throw usage(`--status must be one of ${DEVICE_STATUSES.join(', ')}`);
  const sort = flag(p, 'sort');
  if (sort && !(DEVICE_SORTS as readonly string[]).includes(sort)) throw usage(`--sort must be one of ${DEVICE_SORTS.join(', ')}`);
  const fleet = flag(p, 'fleet');
  const page = await ctx.api('GET /api/v1/dashboard/devices', {
    query: {
      q: flag(p, 'search'),
      fleetId: fleet ? (await resolveFleet(ctx, fleet)).id : undefined,
      tag: flag(p, 'tag'),
      status: status as DashboardDeviceStatus | undefined,
      sort: sort as DashboardDeviceQuery['sort'] | undefined,
      limit: intFlag(p, 'limit', 50, 1, 500),
      offset: intFlag(p, 'offset', 0),
    },
  });
  if (has(p, 'json')) {
    printJson(ctx, page);
    return EXIT.ok;
  }
  ctx.out(
    table(
      ['ID', 'NAME', 'STATUS', 'RELEASE', 'PHASE', 'TAGS', 'LAST SEEN'],
      page.items.map((d) => [
        d.id,
        d.name,
        d.decommissioned ? 'decommissioned' : d.online ? 'online' : 'offline',
        d.releaseVersion ?? d.releaseId?.slice(0, 8),
        d.updatePhase,
        d.tags.join(',') || '-',
        ago(d.lastSeenAt),
      ]),
    ),
  );
  const shown = page.items.length;
  ctx.err(
    `${shown ? `${page.offset + 1}-${page.offset + shown}` : '0'} of ${page.total} devices${page.offset + shown < page.total ? ` (next: --offset ${page.offset + shown})` : ''}`,
  );
  return EXIT.ok;
}

async function show(ctx: Context, p: Parsed, ref: string): Promise<number> {
  const d = await resolveDevice(ctx, ref);
  if (has(p, 'json')) {
    printJson(ctx, d);
    return EXIT.ok;
  }
  const u = d.reported?.update;
  const slot = (s: { rev: number; version: string | null; releaseId: string | null } | null | undefined) =>
    s ? `${s.version ?? s.releaseId ?? '?'} (rev ${s.rev})` : 'empty';
  const lines = [
    `${d.name}  ${d.decommissionedAt ? 'decommissioned' : d.online ? 'online' : 'offline'}`,
    `id          ${d.id}`,
    `board       ${d.inventory?.board.model ?? d.board ?? '-'}`,
    `agent       ${d.reported?.agentVersion ?? '-'}`,
    `fleet       ${d.fleetId ?? '-'}`,
    `tags        ${d.tags.join(', ') || '-'}`,
    `last seen   ${ago(d.lastSeenAt)}`,
    `desired     rev ${d.desired.rev}, release ${d.desired.releaseId ?? '-'}${d.pinnedReleaseId ? ' (pinned)' : ''}`,
    `update      ${u?.phase ?? '-'}; active ${slot(u?.active)}; candidate ${slot(u?.candidate)}`,
  ];
  if (u?.lastFailure) lines.push(`last failure ${u.lastFailure}`);
  const os = d.reported?.os;
  if (os) {
    const writing = os.progress ? ` ${os.progress.percent}% written` : '';
    const target = os.phase !== 'idle' && os.target ? ` → ${os.target}${writing}` : '';
    lines.push(`os          ${os.version ?? '?'} on slot ${os.slot ?? '?'}${os.inTrial ? ' (trial boot)' : ''}; ${os.phase}${target}`);
    if (os.lastFailure) lines.push(`os failure  ${os.lastFailure}`);
  }
  if (d.reported?.components.length) {
    lines.push(
      '',
      table(
        ['COMPONENT', 'STATE', 'HEALTH', 'RESTARTS', 'IMAGE'],
        d.reported.components.map((c) => [c.name, c.state, c.health, c.restartCount ?? 0, c.image]),
      ),
    );
  }
  if (d.lastEvent) lines.push('', `last event  ${d.lastEvent.kind} ${ago(d.lastEvent.at)}: ${d.lastEvent.message}`);
  ctx.out(lines.join('\n'));
  return EXIT.ok;
}

async function send(
  ctx: Context,
  deviceId: string,
  name: SendCommandRequest['name'],
  args: Record<string, string>,
  timeoutMs: number,
): Promise<CommandResultView> {
  return ctx.api('POST /api/v1/devices/:id/commands', { params: { id: deviceId }, body: { name, args, timeoutMs } });
}

async function command(ctx: Context, p: Parsed, ref: string, name: 'reboot' | 'rollback' | 'identify'): Promise<number> {
  const d = await resolveDevice(ctx, ref);
  const result = await send(ctx, d.id, name, {}, intFlag(p, 'timeout', 10, 1, 120) * 1000);
  if (has(p, 'json')) printJson(ctx, result);
  else if (result.ok) ctx.out(`${d.name}: ${name} ${result.output ?? 'done'}`);
  if (!result.ok) throw new CliError(EXIT.api, `${d.name} refused ${name}: ${result.error ?? 'no reason given'}`);
  return EXIT.ok;
}

/** `-f` polls the device's `logs` command and prints only lines not yet shown, until Ctrl-C. */
async function logs(ctx: Context, p: Parsed, ref: string, component: string): Promise<number> {
  const d = await resolveDevice(ctx, ref);
  const tail = String(intFlag(p, 'tail', 100, 1, 10_000));
  let printed: string[] = [];
  for (;;) {
    const result = await send(ctx, d.id, 'logs', { component, tail }, 15_000);
    if (!result.ok)
      throw new CliError(
        EXIT.api,
        `${d.name}: logs of "${component}" failed: ${result.error ?? 'no reason'}`,
        'check the component name with `flotilla devices show DEVICE`',
      );
    const lines = (result.output ?? '').split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
    for (const line of newLogLines(printed, lines)) ctx.out(line);
    printed = lines;
    if (!has(p, 'follow')) return EXIT.ok;
    await ctx.sleep(2000);
  }
}
