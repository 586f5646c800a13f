import { createPublicKey, verify } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from '../assembly/canonical';
import { ReleaseKey } from '../releases/signing';

/**
 * Rotation of the release-signing key. When the control plane rotates, the retiring key signs
 * a statement endorsing its successor, so a device that trusts the old key can learn the new
 * one from the control plane without re-provisioning: it checks the endorsement against a key
 * it already pins (`verifyKeyEndorsement`) and adds the new key to its pins.
 */
export const KEY_ENDORSEMENT_DOMAIN = 'flotilla-key-rotation-v1\n';

export const KeyEndorsement = z.object({
  /** The key that signed the statement: the one that was current before this key. */
  keyId: z.string(),
  /** base64 ed25519 signature over `keyEndorsementPayload(key)`. */
  value: z.string(),
});
export type KeyEndorsement = z.infer<typeof KeyEndorsement>;

/** A key with its predecessor's endorsement: one link of the rotation chain `desired` carries to devices. */
export const EndorsedReleaseKey = ReleaseKey.extend({ endorsement: KeyEndorsement });
export type EndorsedReleaseKey = z.infer<typeof EndorsedReleaseKey>;

export const SigningKeyView = z.object({
  keyId: z.string(),
  algorithm: z.literal('ed25519'),
  /** SPKI PEM */
  publicKey: z.string(),
  createdAt: z.string(),
  /** The key that signs new releases and desired states; exactly one is current. */
  current: z.boolean(),
  /**
   * `current`: signs. `trusted`: within the horizon, endorses the current key for devices that
   * still hold it. `retired`: older than the horizon, no longer handed to devices. `revoked`:
   * its private key is destroyed and devices are told to stop trusting it.
   */
  status: z.enum(['current', 'trusted', 'retired', 'revoked']),
  revokedAt: z.string().nullable(),
  /** This key endorsed by the key before it; null for the first key, or when that one is revoked. */
  endorsement: KeyEndorsement.nullable(),
});
export type SigningKeyView = z.infer<typeof SigningKeyView>;

export const SigningKeysView = z.object({
  /** Oldest first; every key that ever signed stays listed, revoked ones included. */
  keys: z.array(SigningKeyView),
  /** Rotations a device may miss and still follow the key chain (`FLOTILLA_SIGNING_KEY_HORIZON`). */
  horizon: z.number().int().positive(),
});
export type SigningKeysView = z.infer<typeof SigningKeysView>;

export function keyEndorsementPayload(key: ReleaseKey): Buffer {
  return Buffer.from(KEY_ENDORSEMENT_DOMAIN + canonicalJson({ keyId: key.keyId, publicKey: key.publicKey }));
}

/** True when `endorsement` over `key` verifies with one of `trusted`. Never throws. */
export function verifyKeyEndorsement(key: ReleaseKey, endorsement: KeyEndorsement, trusted: readonly ReleaseKey[]): boolean {
  const signer = trusted.find((k) => k.keyId === endorsement.keyId);
  if (!signer) return false;
  try {
    return verify(null, keyEndorsementPayload(key), createPublicKey(signer.publicKey), Buffer.from(endorsement.value, 'base64'));
  } catch {
    return false;
  }
}
