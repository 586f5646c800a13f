import { AuthenticationError, ForbiddenError, NotFoundError } from '../domain-error';

export class ProvisioningTokenInvalidError extends AuthenticationError {
  constructor() {
    super('provisioning_token_invalid', 'the provisioning token is not known');
  }
}

export class ProvisioningTokenExpiredError extends ForbiddenError {
  constructor() {
    super('provisioning_token_expired', 'the provisioning token has expired');
  }
}

export class ProvisioningTokenExhaustedError extends ForbiddenError {
  constructor() {
    super('provisioning_token_exhausted', 'the provisioning token has been used as many times as it allows');
  }
}

export class ProvisioningTokenRevokedError extends ForbiddenError {
  constructor() {
    super('provisioning_token_revoked', 'the provisioning token has been revoked');
  }
}

export class ProvisioningTokenNotFoundError extends NotFoundError {
  constructor(id: string) {
    super('provisioning_token_not_found', `no provisioning token with id ${id}`);
  }
}
