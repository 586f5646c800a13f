import type { RolloutCounts, RolloutDeviceView, RolloutView } from '@flotilla/shared';
import type { RolloutRecord } from './rollout-rows';
import type { Acceptance, Counts } from './rollout-views.repository';
import { countDevices, type RolloutDevice, type RolloutState } from './rollout-state';

/** `acceptances` only where one rollout is shown: a list of rollouts leaves them out (empty). */
export function toRolloutView(record: RolloutRecord, counts: Map<number, Counts> | undefined, acceptances: Acceptance[] = []): RolloutView {
  const s = record.state;
  const totals: RolloutCounts = { devices: 0, pending: 0, updating: 0, succeeded: 0, failed: 0, accepted: 0, waiting: 0 };
  const phases = s.phases.map((p, index) => {
    const c = counts?.get(index) ?? { pending: 0, updating: 0, succeeded: 0, failed: 0, accepted: 0, waiting: 0 };
    const progress = { devices: c.pending + c.updating + c.succeeded + c.failed, ...c };
    for (const k of Object.keys(totals) as (keyof RolloutCounts)[]) totals[k] += progress[k];
    return {
      index,
      name: p.name,
      successThreshold: p.successThreshold,
      failureThreshold: p.failureThreshold,
      onFailure: p.onFailure,
      progress,
    };
  });
  return {
    id: s.id,
    name: record.name,
    releaseId: s.releaseId,
    status: s.status,
    statusReason: s.statusReason,
    advance: s.advance,
    currentPhase: s.currentPhase,
    deviceTimeoutSeconds: Math.round(s.deviceTimeoutMs / 1000),
    force: s.force,
    selection: record.selection,
    phases,
    totals,
    acceptances: acceptances.map((a) => ({ ...a, acceptedAt: a.acceptedAt.toISOString() })),
    createdBy: record.createdBy,
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
  };
}

/** A rollout's counts by phase from its devices in memory (`countDevices`), in the shape `RolloutViewRepository.countsByPhase` reads them. */
export function countsOf(state: RolloutState): Map<number, Counts> {
  return new Map(
    state.phases.map((_, phase) => {
      const { devices: _all, ...counts } = countDevices(state.devices, phase);
      return [phase, counts];
    }),
  );
}

export function toRolloutDeviceView(d: RolloutDevice): RolloutDeviceView {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    deviceId: d.deviceId,
    phase: d.phase,
    state: d.state,
    reason: d.reason,
    assignedRev: d.assignedRev,
    assignedAt: iso(d.assignedAt),
    finishedAt: iso(d.finishedAt),
    previousReleaseId: d.previousReleaseId,
    joined: d.joined,
    acceptedBy: d.acceptedBy,
    acceptedAt: iso(d.acceptedAt),
    waitingFor: d.state === 'updating' ? d.waitingFor : null,
  };
}
