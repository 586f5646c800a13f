import type { RolloutPhaseSpec } from '@flotilla/shared';

export class PhasePlacementError extends Error {}

/**
 * Which phase each selected device belongs to. Phases with explicit `deviceIds` take those
 * devices first; `count` and `percent` phases then take devices in the given order (the service
 * puts online devices first, so a canary is made of devices that can answer). Percentages are
 * cumulative over the whole selection, rounded up. The last phase takes every device left.
 */
export function placeDevices(orderedDeviceIds: readonly string[], phases: readonly RolloutPhaseSpec[]): Map<string, number> {
  const placement = new Map<string, number>();
  const selected = new Set(orderedDeviceIds);
  phases.forEach((phase, index) => {
    for (const id of phase.deviceIds ?? []) {
      if (!selected.has(id)) throw new PhasePlacementError(`phase ${index + 1} lists device "${id}", which is not in the selection`);
      if (placement.has(id)) throw new PhasePlacementError(`device "${id}" is listed in two phases`);
      placement.set(id, index);
    }
  });
  const remaining = orderedDeviceIds.filter((id) => !placement.has(id));
  const total = orderedDeviceIds.length;
  let next = 0;
  phases.forEach((phase, index) => {
    if (phase.deviceIds) return;
    const isLast = index === phases.length - 1;
    let take: number;
    if (isLast) take = remaining.length - next;
    else if (phase.count !== undefined) take = phase.count;
    else if (phase.percent !== undefined) take = Math.ceil((phase.percent * total) / 100) - placement.size;
    else take = remaining.length - next;
    take = Math.max(0, Math.min(take, remaining.length - next));
    for (const id of remaining.slice(next, next + take)) placement.set(id, index);
    next += take;
  });
  // Devices left when the last phase lists explicit devices join that last phase.
  for (const id of remaining.slice(next)) placement.set(id, phases.length - 1);
  return placement;
}

export function phaseName(phase: RolloutPhaseSpec, index: number): string {
  if (phase.name) return phase.name;
  if (phase.count !== undefined) return index === 0 ? `canary (${phase.count})` : `${phase.count} devices`;
  if (phase.percent !== undefined) return `${phase.percent} %`;
  if (phase.deviceIds) return `group ${index + 1}`;
  return `phase ${index + 1}`;
}
