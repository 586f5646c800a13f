import { AgentError } from '../support/errors';

/** The registry answered that the image does not exist: pulling again will not help. */
export class ImageNotFoundError extends AgentError {
  readonly code = 'image-not-found';
  constructor(
    readonly image: string,
    detail: string,
  ) {
    super(`image ${image} was not found in its registry (${detail}); publish a release that references an existing image`, {
      terminal: true,
    });
  }
}

/** The pull failed for another reason (registry unreachable, disk full): retried with backoff. */
export class ImagePullError extends AgentError {
  readonly code = 'image-pull-failed';
  constructor(
    readonly image: string,
    detail: string,
    cause?: unknown,
  ) {
    super(`pulling image ${image} failed: ${detail}; check the device's network and free disk space`, { cause });
  }
}

/** Any other engine call that failed; `operation` names it, `target` the object it acted on. */
export class EngineError extends AgentError {
  readonly code = 'engine-failed';
  constructor(
    readonly operation: string,
    readonly target: string,
    detail: string,
    cause?: unknown,
  ) {
    super(`container engine could not ${operation} ${target}: ${detail}; check that dockerd is running and its log`, { cause });
  }
}
