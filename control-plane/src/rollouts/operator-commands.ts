import type { RolloutStatus } from '@flotilla/shared';
import type { RolloutState } from './rollout-state';

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
 * so far: each failed device not yet accepted is marked accepted by `actor` (the operator key's
 * principal) at `now`, and the thresholds no longer count it (see `decide`). Resume carries on
 * with the current phase; advance also skips to the next one. Abort only stops the rollout:
 * devices not yet updated stay where they are, devices on their way finish on their own. The
 * re-targeting of "roll back all" is `rollbackTargets`; this only records the new status.
 */
export function applyOperatorCommand(state: RolloutState, command: OperatorCommand, actor: OperatorActor, now: number): CommandOutcome {
  if (!ALLOWED_FROM[command].includes(state.status)) {
    return { ok: false, reason: `cannot ${command} a rollout that is ${state.status}` };
  }
  switch (command) {
    case 'pause':
      return { ok: true, state: { ...state, status: 'paused', statusReason: `paused by ${actor.name}` } };
    case 'resume':
      return { ok: true, state: { ...acceptFailures(state, actor.id, now), status: 'running', statusReason: null } };
    case 'advance':
      if (state.currentPhase >= state.phases.length - 1) return { ok: false, reason: 'the rollout is already in its last phase' };
      return {
        ok: true,
        state: { ...acceptFailures(state, actor.id, now), status: 'running', statusReason: null, currentPhase: state.currentPhase + 1 },
      };
    case 'abort':
      return { ok: true, state: { ...state, status: 'aborted', statusReason: `aborted by ${actor.name}` } };
    case 'rollback':
      return { ok: true, state: { ...state, status: 'rolled-back', statusReason: `rolled back by ${actor.name}` } };
  }
}

/** Who gives a command: the operator key's principal (`id` is recorded, `name` goes into reasons). */
export interface OperatorActor {
  id: string;
  name: string;
}

function acceptFailures(state: RolloutState, by: string, now: number): RolloutState {
  return {
    ...state,
    devices: state.devices.map((d) => (d.state === 'failed' && d.acceptedAt === null ? { ...d, acceptedBy: by, acceptedAt: now } : d)),
  };
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
