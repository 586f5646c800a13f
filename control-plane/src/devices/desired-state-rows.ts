import type { ConfigMap, WindowSchedule } from '@flotilla/shared';
import type { DesiredState } from './device-record.repository';
import type { Row } from './device-rows';

/** The columns of `devices` a desired state is built from (what `desiredStateSelect` reads of `d`). */
export const DESIRED_STATE_COLUMNS = `d.id, d.desired_rev, d.desired_release_id, d.config, d.fleet_id, d.registered_by_admin,
  d.newest_release_at, d.desired_force, d.update_windows`;

/**
 * A device's desired state as SQL over `devices d` (or rows of it, aliased `d`): its pointers
 * with its fleet's configuration and its release's age. One text, so that reading a state back
 * (`desired/get`, a publish) and returning it from the statement that wrote it (a rollout's
 * assignment) build the same `DesiredState`.
 */
export const desiredStateSelect = (from = 'devices') => `
  SELECT d.id, d.desired_rev, d.desired_release_id, d.config, d.fleet_id, d.registered_by_admin, f.config AS fleet_config,
         r.created_at AS release_created_at, COALESCE(r.created_at < d.newest_release_at, false) AS rollback,
         d.desired_force, f.lock_max_defer_seconds, coalesce(d.update_windows, f.update_windows) AS update_windows
    FROM ${from} d LEFT JOIN fleets f ON f.id = d.fleet_id LEFT JOIN releases r ON r.id = d.desired_release_id`;

export function desiredStateFromRow(r: Row): DesiredState {
  return {
    deviceId: r.id as string,
    desiredRev: r.desired_rev as number,
    desiredReleaseId: (r.desired_release_id as string | null) ?? null,
    deviceConfig: (r.config as ConfigMap | null) ?? {},
    fleetConfig: (r.fleet_config as ConfigMap | null) ?? null,
    releaseCreatedAt: (r.release_created_at as Date | null) ?? null,
    rollback: r.rollback as boolean,
    fleetId: (r.fleet_id as string | null) ?? null,
    registeredByAdmin: r.registered_by_admin === true,
    force: r.desired_force === true,
    lockMaxDeferSeconds: (r.lock_max_defer_seconds as number | null) ?? null,
    windows: (r.update_windows as WindowSchedule | null) ?? null,
  };
}
