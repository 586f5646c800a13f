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
  constructor(message = 'a device may ask only for deltas to the images of its own desired release') {
    super('delta_forbidden', message);
  }
}

/** The delta's images come from a registry whose stored login this device is not given (registries/registry-access.ts). */
export class DeltaNotReadableError extends DeltaForbiddenError {
  constructor() {
    super(
      "this device is not given the stored login of a registry the delta's images come from, so no delta of them either: " +
        "it pulls them itself; to give it the login, an admin grants it to the device's fleet, and an admin's provisioning token registers the device",
    );
  }
}

export class DeltaBlobNotFoundError extends NotFoundError {
  constructor(digest: string) {
    super('delta_blob_not_found', `no delta ${digest} is stored; ask for the delta again (GET with from, to, architecture)`);
  }
}
