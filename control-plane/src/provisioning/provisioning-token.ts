import { randomSecret, sha256Hex } from '../auth/secrets';

const TOKEN = /^ptk_[A-Za-z0-9_-]{43}$/;

/** `ptk_` + 32 random bytes (base64url). */
export function newProvisioningToken(): string {
  return randomSecret('ptk_');
}

/**
 * The stored form of a token, or undefined when the text cannot be one. A plain sha256 is
 * enough here: the token has 256 bits of entropy, so there is nothing to brute-force.
 */
export function provisioningTokenHash(token: string): string | undefined {
  return TOKEN.test(token) ? sha256Hex(token) : undefined;
}
