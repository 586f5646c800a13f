import { generateKeyPairSync } from 'node:crypto';
import {
  encodePayload,
  readSignedDesired,
  verifyDesiredSignature,
  type DesiredStatement,
  type ReleaseKey,
  type SignedDesired,
} from '@flotilla/shared';
import { KeyStore } from '../signing/key-store';
import { Keyring } from '../signing/keyring';
import { SigningService } from '../signing/signing.service';

/**
 * The statement inside a `desired` message, as a device reads it; throws when the message is
 * not a signed desired state, or (with `keys`) when its signature does not verify with them.
 */
export function openDesired(message: Uint8Array | string | SignedDesired, keys?: readonly ReleaseKey[]): DesiredStatement {
  const read = readSignedDesired(typeof message === 'object' && 'statement' in message ? encodePayload('desired', message) : message);
  if (!read.ok) throw new Error(`${read.code}: ${read.reason}`);
  if (keys) {
    const verified = verifyDesiredSignature(read.envelope, keys);
    if (!verified.ok) throw new Error(`${verified.code}: ${verified.reason}`);
  }
  return read.statement;
}

/** A signing service with one in-memory key, for tests of services that sign (no key files). */
export function inMemorySigning(): SigningService {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const keyring = new Keyring([{ name: 'in-memory', privateKey, publicKey, createdAt: new Date() }]);
  return new SigningService(new KeyStore('/nonexistent-for-tests'), keyring);
}
