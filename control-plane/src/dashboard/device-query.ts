import { DASHBOARD_DEVICE_SORTS, type DashboardDeviceQuery, type DashboardDeviceStatus } from '@flotilla/shared';

/**
 * The dashboard's device list (its query schema is in @flotilla/shared): search, filters, sort and
 * offset pagination, all in SQL so the page stays fast at 10,000 devices (the browser only ever
 * holds one page). Offset rather than the API's cursor because a person jumps to page N and sorts
 * by any column.
 */
export type DeviceStatus = DashboardDeviceStatus;

/** Update phases during which a device counts as updating. */
export const UPDATING_PHASES = ['verify', 'fetch', 'switch', 'probation', 'commit'];

/**
 * The device refused or rolled back the rev it should run. Compared as numeric, and only when the
 * reported value is a JSON number (CASE: SQL does not promise to evaluate AND left to right): an
 * `::int` cast of a stored 1e30 or "seven" failed the whole overview (issue 13).
 */
const FAILED_REV_REACHED = `CASE WHEN jsonb_typeof(d.reported->'update'->'failedRev') = 'number'
  THEN (d.reported->'update'->>'failedRev')::numeric >= d.desired_rev ELSE false END`;

/** SQL for each status: one place, shared by the list filter and the overview counts. */
export const STATUS_SQL: Record<DeviceStatus, string> = {
  decommissioned: `d.decommissioned_at IS NOT NULL`,
  failed: `d.decommissioned_at IS NULL AND (d.reported->'update'->>'phase' = 'rollback' OR ${FAILED_REV_REACHED})`,
  updating: `d.decommissioned_at IS NULL AND d.online AND d.reported->'update'->>'phase' IN (${UPDATING_PHASES.map((p) => `'${p}'`).join(', ')})`,
  online: `d.decommissioned_at IS NULL AND d.online`,
  offline: `d.decommissioned_at IS NULL AND NOT d.online`,
};

const ORDER: Record<(typeof DASHBOARD_DEVICE_SORTS)[number], string> = {
  name: 'd.name ASC, d.id ASC',
  '-name': 'd.name DESC, d.id DESC',
  lastSeen: 'd.last_seen_at ASC NULLS FIRST, d.id ASC',
  '-lastSeen': 'd.last_seen_at DESC NULLS LAST, d.id DESC',
  created: 'd.created_at ASC, d.id ASC',
  '-created': 'd.created_at DESC, d.id DESC',
};

export interface SqlQuery {
  where: string;
  params: unknown[];
  order: string;
}

/** Builds the WHERE and ORDER BY of a device list query; values always go in as parameters. */
export function deviceListSql(query: DashboardDeviceQuery): SqlQuery {
  const where: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown): string => `$${params.push(value)}`;
  const q = query.q?.trim();
  if (q) {
    const like = param(`%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    where.push(`(d.name ILIKE ${like} OR d.id ILIKE ${like})`);
  }
  if (query.fleetId !== undefined) where.push(`d.fleet_id = ${param(query.fleetId)}`);
  if (query.tag !== undefined) where.push(`d.tags @> ARRAY[${param(query.tag)}]::text[]`);
  if (query.releaseId !== undefined) {
    const r = param(query.releaseId);
    where.push(`(d.reported->'update'->'active'->>'releaseId' = ${r} OR d.desired_release_id = ${r}::uuid)`);
  }
  // Decommissioned devices are listed only when asked for.
  where.push(query.status ? STATUS_SQL[query.status] : 'd.decommissioned_at IS NULL');
  return { where: where.join(' AND '), params, order: ORDER[query.sort] };
}
