import type { DeviceReport, RolloutState } from './rollout-state';

/**
 * A device put in `updating` is told its desired state once, after the decision commits. That
 * message can be lost without anyone knowing: the deciding replica dies between the commit and
 * the publish, or the broker refuses the publish while the device's session queue fails over to
 * another node. Such a device reports no sign of the assigned rev; `redeliveryDue` names those
 * assigned at least `afterMs` ago and not told again by this replica for as long (`toldAt`), so
 * the lease holder publishes their current desired state again instead of letting them time out.
 */
export function redeliveryDue(
  state: RolloutState,
  reports: ReadonlyMap<string, DeviceReport>,
  toldAt: ReadonlyMap<string, number>,
  now: number,
  afterMs: number,
): string[] {
  return state.devices
    .filter(
      (d) =>
        d.state === 'updating' &&
        d.assignedRev !== null &&
        d.assignedAt !== null &&
        now - Math.max(d.assignedAt, toldAt.get(d.deviceId) ?? 0) >= afterMs &&
        (reports.get(d.deviceId)?.reportedRev ?? -1) < d.assignedRev &&
        reports.get(d.deviceId)?.desiredRev === d.assignedRev,
    )
    .map((d) => d.deviceId);
}

/**
 * Drops the entries of `toldAt` that can no longer hold a device back (told `afterMs` or more
 * ago): `redeliveryDue` decides the same without them, and the map stays as small as the devices
 * told within one interval instead of growing with every device ever told.
 */
export function forgetStale(toldAt: Map<string, number>, now: number, afterMs: number): void {
  for (const [deviceId, at] of toldAt) if (now - at >= afterMs) toldAt.delete(deviceId);
}
