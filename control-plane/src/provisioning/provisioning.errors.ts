import { AuthenticationError, ForbiddenError } from '../domain-error';

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
