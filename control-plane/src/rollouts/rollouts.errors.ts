import { ConflictError, InvalidInputError, NotFoundError } from '../domain-error';

export class RolloutNotFoundError extends NotFoundError {
  constructor(id: string) {
    super('rollout_not_found', `no rollout "${id}"; GET /api/v1/rollouts lists them`);
  }
}

export class RolloutTransitionError extends ConflictError {
  constructor(id: string, reason: string) {
    super('rollout_invalid_transition', `rollout ${id}: ${reason}`);
  }
}

export class DevicesInActiveRolloutError extends ConflictError {
  constructor(conflicts: readonly { deviceId: string; rolloutId: string }[]) {
    const list = conflicts.map((c) => `${c.deviceId} (rollout ${c.rolloutId})`).join(', ');
    super('devices_in_active_rollout', `devices already in a rollout in motion: ${list}; abort or finish that rollout first`);
  }
}

export class EmptySelectionError extends InvalidInputError {
  constructor() {
    super('rollout_selection_empty', 'the selection matches no device', [{ path: 'selection', message: 'matches no device' }]);
  }
}

export class InvalidPhasesError extends InvalidInputError {
  constructor(message: string) {
    super('rollout_invalid_phases', message, [{ path: 'phases', message }]);
  }
}
