import { AgentError } from '../support/errors';

/** VERIFY refused the release; the reason says what to fix. */
export class UpdateRefusedError extends AgentError {
  readonly code = 'update-refused';
  constructor(reason: string) {
    super(reason, { terminal: true });
  }
}

/** The probation gate failed: the candidate goes, the active slot comes back. */
export class GateFailedError extends AgentError {
  readonly code = 'gate-failed';
  constructor(reason: string) {
    super(`health gate failed: ${reason}`, { terminal: true });
  }
}

/** A rollback was asked for (command or CLI) while nothing is on trial. */
export class NothingToRollBackError extends AgentError {
  readonly code = 'nothing-to-roll-back';
  constructor() {
    super('nothing to roll back: no update is in progress; to go back to an older release, assign it to the device again', {
      terminal: true,
    });
  }
}

/** Transient: the slot's token for a registry ran out; fresh ones were asked for and the pull is retried. */
export class RegistryTokenExpiredError extends AgentError {
  readonly code = 'registry-token-expired';
  constructor(registry: string) {
    super(`the pull token for registry ${registry} has expired; fresh ones were asked for, the pull is retried`);
  }
}
