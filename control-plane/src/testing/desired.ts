import { generateKeyPairSync } from 'node:crypto';
import {
  encodePayload,
  readSignedDesired,
  verifyDesiredSignature,
  type DesiredStatement,
  type Release,
  type ReleaseKey,
  type SignedDesired,
} from '@flotilla/shared';
import type { DesiredPointer } from '../devices/device-record.repository';
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

/** A release as the services under test deliver it: its own signature is not checked there. */
export const testRelease: Release = {
  id: '6f1c1c2e-3a1b-4c55-9a7e-0d5e7a9b1c2d',
  digest: `sha256:${'c'.repeat(64)}`,
  assembly: { name: 'origin', version: '1.0.0', probationMs: 30_000, components: [], volumes: [], networks: ['default'] },
  signature: { alg: 'ed25519', keyId: 'ed25519:0123456789abcdef', value: `${'A'.repeat(86)}==` },
};

/** A device's desired pointer: rev 3 of `testRelease`, no configuration, no rollback or policy; `changes` override. */
export function desiredPointer(changes: Partial<DesiredPointer> = {}): DesiredPointer {
  return {
    desiredRev: 3,
    desiredReleaseId: testRelease.id,
    fleetConfig: null,
    deviceConfig: {},
    releaseCreatedAt: new Date('2026-11-27T10:00:00Z'),
    rollback: false,
    fleetId: null,
    registeredByAdmin: false,
    force: false,
    lockMaxDeferSeconds: null,
    windows: null,
    ...changes,
  };
}
