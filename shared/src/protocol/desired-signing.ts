import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { ReleaseKey } from '../releases/signing';
import { decodePayload, DesiredStatement, PROTOCOL_SCHEMA, type SignedDesired } from './messages';

/**
 * The whole desired state is signed, not only its release: `rev`, `release: null`, `config`
 * (container environment), registry logins, key endorsements, and whom and until when it holds.
 *
 * What is signed is the exact UTF-8 text of `payload`, behind a domain string so that no other
 * signature of the same key (a release, a key endorsement) can pass for a desired state. The
 * text travels as a string rather than as canonical JSON because a verifier then needs no
 * canonicalisation of its own: numbers, escapes and key order cannot differ between the signer's
 * and the verifier's JSON libraries, and fields a newer control plane adds are covered by the
 * signature even for an agent whose schema strips them. It costs the escaping of one string.
 */
export const DESIRED_SIGNATURE_DOMAIN = 'flotilla-desired-v1\n';

export function desiredSigningPayload(payload: string): Buffer {
  return Buffer.from(DESIRED_SIGNATURE_DOMAIN + payload, 'utf8');
}

export function sealDesired(statement: DesiredStatement, privateKey: KeyObject, keyId: string): SignedDesired {
  const payload = JSON.stringify(statement);
  return {
    schema: PROTOCOL_SCHEMA,
    payload,
    signature: { alg: 'ed25519', keyId, value: sign(null, desiredSigningPayload(payload), privateKey).toString('base64') },
  };
}

/** Why a device refuses a desired message; each refusal leaves the device exactly as it was. */
export type DesiredRefusalCode =
  'unsigned' | 'invalid' | 'unknown-key' | 'revoked-key' | 'forged' | 'wrong-device' | 'stale' | 'replayed' | 'older-release';

export interface DesiredRefusal {
  ok: false;
  code: DesiredRefusalCode;
  reason: string;
}

export type ReadDesired = { ok: true; envelope: SignedDesired; statement: DesiredStatement } | DesiredRefusal;

/**
 * Decodes the envelope and the statement inside, without checking the signature yet (the
 * statement's key endorsements may be needed to know the signing key). Never throws.
 */
export function readSignedDesired(bytes: Uint8Array | string): ReadDesired {
  const decoded = decodePayload('desired', bytes);
  if (!decoded.ok) {
    const unsigned = /(^|; )(signature|payload)[.:]/.test(decoded.reason);
    return {
      ok: false,
      code: unsigned ? 'unsigned' : 'invalid',
      reason: unsigned
        ? `not a signed desired state (${decoded.reason}); only a desired state signed by the control plane is taken`
        : `not a desired message: ${decoded.reason}`,
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(decoded.value.payload);
  } catch (e) {
    return { ok: false, code: 'invalid', reason: `signed payload is not JSON: ${(e as Error).message}` };
  }
  const parsed = DesiredStatement.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return { ok: false, code: 'invalid', reason: `signed payload is not a desired statement: ${issues}` };
  }
  return { ok: true, envelope: decoded.value, statement: parsed.data };
}

/** Checks the envelope's signature against `trusted` (revoked keys already taken out). Never throws. */
export function verifyDesiredSignature(
  envelope: SignedDesired,
  trusted: readonly ReleaseKey[],
  revoked: ReadonlySet<string> = new Set(),
): { ok: true; keyId: string } | DesiredRefusal {
  const keyId = envelope.signature.keyId;
  if (revoked.has(keyId)) {
    return { ok: false, code: 'revoked-key', reason: `desired state signed by key ${keyId}, which the control plane revoked` };
  }
  const key = trusted.find((k) => k.keyId === keyId);
  if (!key) {
    return {
      ok: false,
      code: 'unknown-key',
      reason: `desired state signed by key ${keyId}, which this device does not trust (trusted: ${trusted.map((k) => k.keyId).join(', ') || 'none'})`,
    };
  }
  let valid: boolean;
  try {
    valid = verify(
      null,
      desiredSigningPayload(envelope.payload),
      publicKeyObject(key.publicKey),
      Buffer.from(envelope.signature.value, 'base64'),
    );
  } catch {
    valid = false;
  }
  return valid
    ? { ok: true, keyId }
    : { ok: false, code: 'forged', reason: `desired state signature does not verify with key ${keyId}: altered or forged` };
}

/**
 * Parsing a PEM costs more than the ed25519 check itself; a device sees a handful of keys and a
 * simulator thousands of devices with the same few, so parsed keys are kept (at most 64).
 */
const parsedKeys = new Map<string, KeyObject>();
function publicKeyObject(pem: string): KeyObject {
  let key = parsedKeys.get(pem);
  if (!key) {
    key = createPublicKey(pem);
    if (parsedKeys.size >= 64) parsedKeys.delete(parsedKeys.keys().next().value!);
    parsedKeys.set(pem, key);
  }
  return key;
}
