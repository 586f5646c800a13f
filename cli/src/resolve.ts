import { isValidDeviceId, type DeviceView, type FleetView, type Page, type ReleaseView } from '@flotilla/shared';
import type { Context } from './context';
import { CliError, EXIT, usage } from './errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A device by id, or by its exact name. */
export async function resolveDevice(ctx: Context, ref: string): Promise<DeviceView> {
  // Names and ids share a format, so try the id first and then the name.
  if (isValidDeviceId(ref)) {
    try {
      return await ctx.api('GET /api/v1/devices/:id', { params: { id: ref } });
    } catch (e) {
      if (!(e instanceof CliError) || e.exitCode !== EXIT.notFound) throw e;
    }
  }
  const page = await ctx.api('GET /api/v1/dashboard/devices', { query: { q: ref, limit: 20 } });
  const exact = page.items.filter((d) => d.name === ref);
  if (exact.length === 1) return ctx.api('GET /api/v1/devices/:id', { params: { id: exact[0]!.id } });
  if (exact.length > 1) throw usage(`${exact.length} devices are named "${ref}"`, 'give the device id (flotilla devices ls --search NAME)');
  throw new CliError(EXIT.notFound, `no device "${ref}"`, 'list devices with `flotilla devices ls --search TEXT`');
}

/** Every release (of one assembly, with `name`), newest first, through all pages. */
export async function allReleases(ctx: Context, name?: string): Promise<ReleaseView[]> {
  const all: ReleaseView[] = [];
  let cursor: string | null = null;
  do {
    const page: Page<ReleaseView> = await ctx.api('GET /api/v1/releases', { query: { limit: 500, name, cursor: cursor ?? undefined } });
    all.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}

/** A release by id, `version`, or `name@version`. */
export async function resolveRelease(ctx: Context, ref: string): Promise<ReleaseView> {
  if (UUID.test(ref)) return ctx.api('GET /api/v1/releases/:id', { params: { id: ref } });
  const at = ref.lastIndexOf('@');
  const all = await allReleases(ctx, at > 0 ? ref.slice(0, at) : undefined);
  const matches = all.filter((r) => (at > 0 ? r.name === ref.slice(0, at) && r.version === ref.slice(at + 1) : r.version === ref));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw usage(`several releases have version "${ref}"`, 'write it as NAME@VERSION or give the id');
  throw new CliError(EXIT.notFound, `no release "${ref}"`, 'list releases with `flotilla releases ls`');
}

/** A fleet by id or name. */
export async function resolveFleet(ctx: Context, ref: string): Promise<FleetView> {
  if (UUID.test(ref)) return ctx.api('GET /api/v1/fleets/:id', { params: { id: ref } });
  const match = (await ctx.api('GET /api/v1/fleets')).find((f) => f.name === ref);
  if (match) return match;
  throw new CliError(EXIT.notFound, `no fleet "${ref}"`, 'list fleets with `flotilla fleets ls`');
}
