import { ForbiddenError, InvalidInputError, NotFoundError } from '../domain-error';

/** A registry did not give the exact images a delta is made from (kept on the delta as its error). */
export class DeltaSourceError extends Error {
  readonly code = 'delta_source_failed';
}

/** The workshop's file system would be left with less than its reserve: the delta failed and is tried again later. */
export class DeltaWorkshopFullError extends Error {
  readonly code = 'delta_workshop_full';
}

export class InvalidDeltaRequestError extends InvalidInputError {
  constructor(message: string) {
    super('invalid_delta_request', message);
  }
}

export class DeltaForbiddenError extends ForbiddenError {
  constructor() {
    super('delta_forbidden', 'a device may ask only for deltas to the images of its own desired release');
  }
}

export class DeltaBlobNotFoundError extends NotFoundError {
  constructor(digest: string) {
    super('delta_blob_not_found', `no delta ${digest} is stored; ask for the delta again (GET with from, to, architecture)`);
  }
}
