import { NotFoundError } from '../domain-error';

export class SigningKeyNotFoundError extends NotFoundError {
  constructor(keyId: string) {
    super('signing_key_not_found', `no signing key ${keyId}; GET /api/v1/signing-keys lists them`);
  }
}
