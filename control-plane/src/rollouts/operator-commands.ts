import type { RolloutStatus } from '@flotilla/shared';
import { countDevices, type RolloutState } from './rollout-state';

export type OperatorCommand = 'pause' | 'resume' | 'advance' | 'abort' | 'rollback';

export type CommandOutcome = { ok: true; state: RolloutState } | { ok: false; reason: string };

const ALLOWED_FROM: Record<OperatorCommand, readonly RolloutStatus[]> = {
  pause: ['running', 'waiting'],
  resume: ['paused'],
  advance: ['running', 'waiting', 'paused'],
  abort: ['running', 'waiting', 'paused'],
  rollback: ['running', 'waiting', 'paused', 'completed', 'aborted'],
};

/**
 * An operator's command as a state transition. Resuming or advancing accepts the failures seen
 * so far (see `acceptedFailures`). Abort only stops the rollout: devices not yet updated stay
 * where they are, devices on their way finish on their own. The re-targeting of "roll back all"
 * is `rollbackTargets`; this only records the new status.
 */
export function applyOperatorCommand(state: RolloutState, command: OperatorCommand, actor: string): CommandOutcome {
  if (!ALLOWED_FROM[command].includes(state.status)) {
    return { ok: false, reason: `cannot ${command} a rollout that is ${state.status}` };
  }
  const failed = countDevices(state.devices).failed;
  switch (command) {
    case 'pause':
      return { ok: true, state: { ...state, status: 'paused', statusReason: `paused by ${actor}` } };
    case 'resume':
      return { ok: true, state: { ...state, status: 'running', statusReason: null, acceptedFailures: failed } };
    case 'advance':
      if (state.currentPhase >= state.phases.length - 1) return { ok: false, reason: 'the rollout is already in its last phase' };
      return {
        ok: true,
        state: { ...state, status: 'running', statusReason: null, currentPhase: state.currentPhase + 1, acceptedFailures: failed },
      };
    case 'abort':
      return { ok: true, state: { ...state, status: 'aborted', statusReason: `aborted by ${actor}` } };
    case 'rollback':
      return { ok: true, state: { ...state, status: 'rolled-back', statusReason: `rolled back by ${actor}` } };
  }
}

export interface RollbackTarget {
  deviceId: string;
  releaseId: string;
}

/**
 * "Roll back all": every device the rollout assigned goes back to the release it was told to run
 * before, including devices that already rolled back on their own (their desired state still
 * names the target). A device that had no release before is left as it is and reported.
 */
export function rollbackTargets(state: RolloutState): { targets: RollbackTarget[]; skipped: string[] } {
  const targets: RollbackTarget[] = [];
  const skipped: string[] = [];
  for (const d of state.devices) {
    if (d.assignedRev === null) continue;
    if (d.previousReleaseId === null || d.previousReleaseId === state.releaseId) skipped.push(d.deviceId);
    else targets.push({ deviceId: d.deviceId, releaseId: d.previousReleaseId });
  }
  return { targets, skipped };
}
