/**
 * What went wrong, in words any transport can translate: the HTTP filter maps a kind to a
 * status code, an MQTT handler to an event. Domain code throws these and never an HTTP exception.
 */
export type DomainErrorKind = 'invalid' | 'unauthenticated' | 'forbidden' | 'not_found' | 'conflict' | 'unsupported' | 'timeout';

export interface DomainIssue {
  path: string;
  message: string;
}

export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;

  protected constructor(
    /** Stable, machine-readable; clients branch on it, so never rename one. */
    readonly code: string,
    message: string,
    readonly issues?: readonly DomainIssue[],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The request's content was at fault (bad fields, malformed manifest). */
export class InvalidInputError extends DomainError {
  readonly kind = 'invalid';
  constructor(code: string, message: string, issues?: readonly DomainIssue[]) {
    super(code, message, issues);
  }
}

export class AuthenticationError extends DomainError {
  readonly kind = 'unauthenticated';
  constructor(code: string, message: string) {
    super(code, message);
  }
}

export class ForbiddenError extends DomainError {
  readonly kind = 'forbidden';
  constructor(code: string, message: string) {
    super(code, message);
  }
}

export class NotFoundError extends DomainError {
  readonly kind = 'not_found';
  constructor(code: string, message: string) {
    super(code, message);
  }
}

export class ConflictError extends DomainError {
  readonly kind = 'conflict';
  constructor(code: string, message: string) {
    super(code, message);
  }
}

export class UnsupportedError extends DomainError {
  readonly kind = 'unsupported';
  constructor(code: string, message: string) {
    super(code, message);
  }
}

/** Something the request waited for (a device's answer) did not come in time. */
export class TimeoutError extends DomainError {
  readonly kind = 'timeout';
  constructor(code: string, message: string) {
    super(code, message);
  }
}
