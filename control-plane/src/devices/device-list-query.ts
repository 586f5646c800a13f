import type { DeviceListQuery } from '@flotilla/shared';

/**
 * `GET /api/v1/devices` as SQL: filters and keyset pagination in the oldest-first order
 * `(created_at, id)`, which the index `devices_created_id_idx` serves, so page 100 costs what
 * page 1 does and a device registering meanwhile lands at the end instead of shifting pages.
 */

/** The last device of a page: its creation time to the microsecond (UTC) and its id. */
export interface DeviceListPosition {
  createdAt: string;
  id: string;
}

/**
 * The SQL expression that gives a row's `createdAt` position. A date before year 1 carries its
 * era (` BC`), or the cursor after it would point 4,700 years later and skip the rest of the
 * list (issue 13); `http/cursor.ts` takes that and five- and six-digit years.
 */
export const CURSOR_AT_SQL = `to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
  || CASE WHEN d.created_at < '0001-01-01T00:00:00Z' THEN ' BC' ELSE '' END`;

export const DEVICE_LIST_ORDER = 'd.created_at, d.id';

export interface SqlWhere {
  /** `WHERE …`, or empty. */
  where: string;
  params: unknown[];
}

/** Every filter combines with AND; values always go in as parameters. */
export function deviceListWhere(filter: DeviceListQuery, after?: DeviceListPosition): SqlWhere {
  const where: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown): string => `$${params.push(value)}`;
  if (filter.fleetId !== undefined) where.push(`d.fleet_id = ${param(filter.fleetId)}`);
  // `@>` so the GIN index on tags serves the filter.
  if (filter.tag !== undefined) where.push(`d.tags @> ARRAY[${param(filter.tag)}]::text[]`);
  if (filter.online !== undefined) where.push(`d.online = ${param(filter.online)}`);
  if (filter.decommissioned !== undefined) where.push(`d.decommissioned_at IS ${filter.decommissioned ? 'NOT ' : ''}NULL`);
  if (filter.search !== undefined) {
    // Prefixes, so the text_pattern_ops indexes on lower(name) and id serve them.
    const prefix = filter.search.replace(/[\\%_]/g, (c) => `\\${c}`);
    where.push(`(lower(d.name) LIKE ${param(`${prefix.toLowerCase()}%`)} OR d.id LIKE ${param(`${prefix}%`)})`);
  }
  if (filter.pinnedReleaseId !== undefined) where.push(`d.pinned_release_id = ${param(filter.pinnedReleaseId)}::uuid`);
  if (filter.releaseId !== undefined) where.push(`d.desired_release_id = ${param(filter.releaseId)}::uuid`);
  if (filter.updatePhase !== undefined) where.push(`d.reported->'update'->>'phase' = ${param(filter.updatePhase)}`);
  if (after) where.push(`(d.created_at, d.id) > (${param(after.createdAt)}::timestamptz, ${param(after.id)})`);
  return { where: where.length > 0 ? `WHERE ${where.join(' AND ')}` : '', params };
}
