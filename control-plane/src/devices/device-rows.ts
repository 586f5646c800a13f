import { DeviceEntity } from './device.entity';

/**
 * What the device repositories share: how a batch locks its rows, and how a raw `devices` row
 * becomes an entity. Every batched UPDATE of devices locks its rows in id order first
 * (`LOCKED_IN_ID_ORDER`): batches running side by side (last-seen, reports, a rollout's
 * assignment, a fleet's change) then wait for each other instead of deadlocking.
 */

export type Row = Record<string, unknown>;

/**
 * The rows of ids $1, locked in id order (a CTE for batched UPDATEs).
 * `FOR NO KEY UPDATE`, the lock the UPDATE itself takes, and not `FOR UPDATE`: the latter also
 * blocks the foreign-key share locks that telemetry and event inserts take on `devices`, and
 * those batches deadlocked with last-seen batches under load (issue 13). "C" order is the order
 * of JavaScript's string comparison, which the inserts sort by. With `limit`, the first that many
 * that still match once locked: PostgreSQL locks below the limit, so a row changed meanwhile so
 * that it no longer matches is passed over for the next one (fleet-target-segments.int.test.ts).
 */
export const lockedInIdOrder = (where = 'id = ANY($1::text[])', limit?: string) =>
  `locked AS (SELECT id FROM devices WHERE ${where} ORDER BY id COLLATE "C"${limit ? ` LIMIT ${limit}` : ''} FOR NO KEY UPDATE)`;
export const LOCKED_IN_ID_ORDER = lockedInIdOrder();

export function deviceFromRow(raw: Row): DeviceEntity {
  return Object.assign(new DeviceEntity(), {
    id: raw.id,
    name: raw.name,
    board: raw.board,
    passwordHash: raw.password_hash,
    online: raw.online,
    lastSeenAt: raw.last_seen_at,
    desiredRev: raw.desired_rev,
    desiredReleaseId: raw.desired_release_id,
    reported: raw.reported,
    reportedAt: raw.reported_at,
    inventory: raw.inventory,
    inventoryAt: raw.inventory_at,
    createdAt: raw.created_at,
    fleetId: raw.fleet_id ?? null,
    tags: raw.tags ?? [],
    pinnedReleaseId: raw.pinned_release_id ?? null,
    config: raw.config ?? {},
    decommissionedAt: raw.decommissioned_at ?? null,
  });
}
