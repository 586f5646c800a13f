import { AgentError } from '../support/errors';

/** A delta could not be used (missing, failed, corrupt, or not rebuilding the release's exact layer): the image is pulled whole. */
export class DeltaUnusableError extends AgentError {
  readonly code = 'delta-unusable';
}
