import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson, contentDigest } from '../assembly/canonical';
import type { AssemblySpec } from '../assembly/spec';

/**
 * Release signatures: ed25519 over the canonical JSON of `{id, digest, assembly}`, prefixed
 * with a domain string so a signature over a release can never be replayed as a signature
 * over anything else the same key signs. Devices pin the control plane's public keys at
 * provisioning (`ProvisioningFile.releaseKeys`) and refuse any release none of them signed.
 */
export const SIGNATURE_DOMAIN = 'flotilla-release-v1\n';

export const ReleaseSignature = z.object({
  alg: z.literal('ed25519'),
  keyId: z.string().min(1),
  /** base64 of the 64-byte ed25519 signature */
  value: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'expected a base64 ed25519 signature'),
});
export type ReleaseSignature = z.infer<typeof ReleaseSignature>;

export const ReleaseKey = z.object({
  keyId: z.string().min(1),
  /** SPKI PEM of an ed25519 public key */
  publicKey: z.string().includes('BEGIN PUBLIC KEY'),
});
export type ReleaseKey = z.infer<typeof ReleaseKey>;

export interface SignableRelease {
  id: string;
  digest: string;
  assembly: AssemblySpec;
}

export function releaseSigningPayload(release: SignableRelease): Buffer {
  return Buffer.from(SIGNATURE_DOMAIN + canonicalJson({ id: release.id, digest: release.digest, assembly: release.assembly }));
}

/** `ed25519:` and the first 16 hex digits of the SHA-256 of the key's DER (SPKI) form. */
export function releaseKeyId(publicKey: KeyObject | string): string {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  const der = key.export({ type: 'spki', format: 'der' });
  return `ed25519:${createHash('sha256').update(der).digest('hex').slice(0, 16)}`;
}

export function signRelease(release: SignableRelease, privateKey: KeyObject, keyId: string): ReleaseSignature {
  return { alg: 'ed25519', keyId, value: sign(null, releaseSigningPayload(release), privateKey).toString('base64') };
}

export type VerifyReleaseResult = { ok: true; keyId: string } | { ok: false; reason: string };

/** Checks the digest against the assembly, then the signature against the pinned keys. Never throws. */
export function verifyRelease(
  release: SignableRelease & { signature: ReleaseSignature },
  trustedKeys: readonly ReleaseKey[],
): VerifyReleaseResult {
  if (contentDigest(release.assembly) !== release.digest) {
    return { ok: false, reason: `release ${release.id}: digest does not match its assembly (content was altered)` };
  }
  const key = trustedKeys.find((k) => k.keyId === release.signature.keyId);
  if (!key) {
    return {
      ok: false,
      reason: `release ${release.id} is signed by key ${release.signature.keyId}, which this device does not trust (trusted: ${trustedKeys.map((k) => k.keyId).join(', ') || 'none'}); re-provision the device with the control plane's current keys`,
    };
  }
  let valid: boolean;
  try {
    valid = verify(null, releaseSigningPayload(release), createPublicKey(key.publicKey), Buffer.from(release.signature.value, 'base64'));
  } catch (e) {
    return { ok: false, reason: `release ${release.id}: cannot check signature with key ${key.keyId}: ${(e as Error).message}` };
  }
  return valid
    ? { ok: true, keyId: key.keyId }
    : { ok: false, reason: `release ${release.id}: signature does not verify with key ${key.keyId}` };
}
