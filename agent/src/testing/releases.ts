import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import {
  contentDigest,
  keyEndorsementPayload,
  releaseKeyId,
  signRelease,
  type AssemblySpec,
  type ComponentSpec,
  sealDesiredBatch,
  type Desired,
  type DesiredStatement,
  type EndorsedReleaseKey,
  type ReleaseKey,
} from '@flotilla/shared';

/** Test support: a release-signing key made in the test, and signed desired documents. */
export interface TestSigner {
  privateKey: KeyObject;
  key: ReleaseKey;
}

export function testSigner(): TestSigner {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, key: { keyId: releaseKeyId(publicKey), publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() } };
}

/** `key` endorsed by `by`, as the control plane's keyring endorses a rotated key with its predecessor. */
export function endorseKey(key: ReleaseKey, by: TestSigner): EndorsedReleaseKey {
  return { ...key, endorsement: { keyId: by.key.keyId, value: sign(null, keyEndorsementPayload(key), by.privateKey).toString('base64') } };
}

/** A signed desired document; `assembly` overrides the defaults (one network, probation 0, no control-plane check). */
export function signedDesired(
  signer: TestSigner,
  rev: number,
  components: ComponentSpec[],
  assembly: Partial<AssemblySpec> = {},
  config: Record<string, string> = {},
): Desired {
  const spec: AssemblySpec = {
    name: 'origin',
    version: `1.0.${rev}`,
    probationMs: 0,
    requireControlPlane: false,
    components,
    volumes: [],
    networks: ['default'],
    ...assembly,
  };
  const unsigned = { id: randomUUID(), digest: contentDigest(spec), assembly: spec };
  return { schema: 1, rev, config, release: { ...unsigned, signature: signRelease(unsigned, signer.privateKey, signer.key.keyId) } };
}

/**
 * `desired` as the control plane sends it: the whole state signed for `deviceId`, issued now and
 * valid for an hour unless `overrides` say otherwise. Returns the MQTT payload text.
 */
export function sealedDesired(signer: TestSigner, deviceId: string, desired: Desired, overrides: Partial<DesiredStatement> = {}): string {
  return sealedBatch(signer, [{ deviceId, desired, overrides }])[0]!;
}

/** Several devices' `desired` under one signature, as a control-plane fan-out seals them (one hash tree). */
export function sealedBatch(
  signer: TestSigner,
  entries: readonly { deviceId: string; desired: Desired; overrides?: Partial<DesiredStatement> }[],
): string[] {
  const issuedAt = new Date();
  const statements = entries.map(({ deviceId, desired, overrides }): DesiredStatement => ({
    ...desired,
    deviceId,
    issuedAt: issuedAt.toISOString(),
    expiresAt: new Date(issuedAt.getTime() + 3_600_000).toISOString(),
    releaseCreatedAt: desired.release ? issuedAt.toISOString() : null,
    rollback: false,
    ...overrides,
  }));
  return sealDesiredBatch(statements, signer.privateKey, signer.key.keyId).map((envelope) => JSON.stringify(envelope));
}
