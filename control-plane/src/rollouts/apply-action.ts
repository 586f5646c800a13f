import type { RolloutAction, RolloutDevice, RolloutState } from './rollout-state';

/**
 * The state after an action: what the engine persists, and what `decide` uses to judge
 * thresholds within one pass. `assignedRev` is known only after the assignment ran.
 */
export function applyAction(state: RolloutState, action: RolloutAction, now: number, assignedRev: number | null = null): RolloutState {
  switch (action.kind) {
    case 'assign':
      return withDevice(state, action.deviceId, (d) => ({
        ...d,
        state: 'updating',
        assignedRev,
        assignedAt: now,
        previousReleaseId: action.previousReleaseId,
      }));
    case 'join':
      return {
        ...state,
        devices: [
          ...state.devices,
          {
            deviceId: action.deviceId,
            phase: action.phase,
            state: 'pending',
            assignedRev: null,
            assignedAt: null,
            finishedAt: null,
            previousReleaseId: null,
            reason: null,
            joined: true,
          },
        ],
      };
    case 'drop':
      return { ...state, devices: state.devices.filter((d) => d.deviceId !== action.deviceId) };
    case 'succeed':
      return withDevice(state, action.deviceId, (d) => ({ ...d, state: 'succeeded', finishedAt: now, reason: action.reason }));
    case 'fail':
      return withDevice(state, action.deviceId, (d) => ({ ...d, state: 'failed', finishedAt: now, reason: action.reason }));
    case 'advance':
      return { ...state, status: 'running', statusReason: null, currentPhase: action.toPhase };
    case 'wait':
      return { ...state, status: 'waiting', statusReason: action.reason };
    case 'pause':
      return { ...state, status: 'paused', statusReason: action.reason };
    case 'abort':
      return { ...state, status: 'aborted', statusReason: action.reason };
    case 'complete':
      return { ...state, status: 'completed', statusReason: null };
  }
}

export function applyActions(state: RolloutState, actions: readonly RolloutAction[], now: number): RolloutState {
  return actions.reduce((s, a) => applyAction(s, a, now), state);
}

function withDevice(state: RolloutState, deviceId: string, change: (d: RolloutDevice) => RolloutDevice): RolloutState {
  return { ...state, devices: state.devices.map((d) => (d.deviceId === deviceId ? change(d) : d)) };
}
