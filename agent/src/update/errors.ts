import { EngineError } from '../runtime/errors';
import { NoEngineError } from '../runtime/no-engine-runtime';
import { AgentError, errorMessage } from '../support/errors';
import type { Phase } from './machine';

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

/** Node's codes for a disk that is full, read-only or failing. */
const DISK_TROUBLE: readonly string[] = ['ENOSPC', 'EDQUOT', 'EIO', 'EROFS'];

/**
 * What the reported state says while a step that failed transiently waits to run again: the
 * operator reads that the device waits (for the engine, for the disk), not that it failed.
 */
export function retryNote(phase: Phase, err: unknown, attempt: number, waitMs: number): string {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  const what =
    err instanceof EngineError || err instanceof NoEngineError
      ? 'waiting for the container engine'
      : typeof code === 'string' && DISK_TROUBLE.includes(code)
        ? 'waiting for the disk'
        : `${phase} failed, trying again`;
  return `${what}: ${errorMessage(err)} (${phase} attempt ${attempt + 1}, next in ${Math.round(waitMs / 1000)} s)`;
}
