import { InvalidInputError, NotFoundError } from '../domain-error';

export class SigningKeyNotFoundError extends NotFoundError {
  constructor(keyId: string) {
    super('signing_key_not_found', `no signing key ${keyId}; GET /api/v1/signing-keys lists them`);
  }
}

/** A device's desired message would exceed the broker's message limit: its config, registry logins or release are too big. */
export class DesiredTooLargeError extends InvalidInputError {
  constructor(
    readonly deviceId: string,
    bytes: number,
    limit: number,
  ) {
    super(
      'desired_too_large',
      `desired state of ${deviceId} is ${bytes} bytes, over the ${limit}-byte message limit; shrink its config, registry logins or release`,
    );
  }
}
