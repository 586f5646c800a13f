import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { ReleaseKey } from '../releases/signing';
import { bodyDigest, desiredLeaf, desiredTree, rootOfProof } from './desired-batch';
import { decodePayload } from './messages/channels';
import { DESIRED_BODY_KEYS, DesiredStatement, type SignedDesired } from './messages/desired';
import { PROTOCOL_SCHEMA } from './messages/envelope';

/**
 * The whole desired state is signed, not only its release: `rev`, `release: null`, `config`
 * (container environment), registry logins, key endorsements, and whom and until when it holds.
 *
 * What is signed is exact UTF-8 text, not canonical JSON: a verifier then needs no
 * canonicalisation of its own (numbers, escapes and key order cannot differ between the signer's
 * and the verifier's JSON libraries), and fields a newer control plane adds are covered by the
 * signature even for an agent whose schema strips them. The statement is split in two texts: the
 * device's own part (`statement`) and the part a fan-out shares (`body`: release, key chain,
 * revocations), so a fan-out serialises the body once; one signature covers a batch of
 * statements through a hash tree (`desired-batch.ts`), so a fan-out signs once per batch, not
 * once per device. The signature is over the tree's root behind a domain string, so that no other
 * signature of the same key (a release, a key endorsement) can pass for a desired state.
 */
export const DESIRED_SIGNATURE_DOMAIN = 'flotilla-desired-v2\n';

export function desiredSigningPayload(root: Buffer): Buffer {
  return Buffer.concat([Buffer.from(DESIRED_SIGNATURE_DOMAIN, 'utf8'), root]);
}

/** The two signed texts of a statement: the device's own part, and the body a fan-out shares. */
export function desiredTexts(statement: DesiredStatement): { statement: string; body: string } {
  const own: Record<string, unknown> = { ...statement };
  const body: Record<string, unknown> = {};
  for (const key of DESIRED_BODY_KEYS) {
    if (own[key] !== undefined) body[key] = own[key];
    delete own[key];
  }
  return { statement: JSON.stringify(own), body: JSON.stringify(body) };
}

/**
 * Seals statements with one signature (a batch; the control plane's fan-out builds the same
 * messages faster, control-plane/src/signing/desired-sealer.ts). One statement: a batch of one.
 */
export function sealDesiredBatch(statements: readonly DesiredStatement[], privateKey: KeyObject, keyId: string): SignedDesired[] {
  const texts = statements.map(desiredTexts);
  const { root, proofs } = desiredTree(texts.map((t) => desiredLeaf(bodyDigest(t.body), t.statement)));
  const signature = { alg: 'ed25519' as const, keyId, value: sign(null, desiredSigningPayload(root), privateKey).toString('base64') };
  return texts.map((t, i) => ({ schema: PROTOCOL_SCHEMA, statement: t.statement, body: t.body, proof: proofs[i]!, signature }));
}

export function sealDesired(statement: DesiredStatement, privateKey: KeyObject, keyId: string): SignedDesired {
  return sealDesiredBatch([statement], privateKey, keyId)[0]!;
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
    const unsigned = /(^|; )(signature|statement|body|proof)[.:]/.test(decoded.reason);
    return {
      ok: false,
      code: unsigned ? 'unsigned' : 'invalid',
      reason: unsigned
        ? `not a signed desired state (${decoded.reason}); only a desired state signed by the control plane is taken`
        : `not a desired message: ${decoded.reason}`,
    };
  }
  let own: unknown;
  let body: unknown;
  try {
    own = JSON.parse(decoded.value.statement);
    body = JSON.parse(decoded.value.body);
  } catch (e) {
    return { ok: false, code: 'invalid', reason: `signed statement or body is not JSON: ${(e as Error).message}` };
  }
  if (!isObject(own) || !isObject(body)) return { ok: false, code: 'invalid', reason: 'signed statement and body must be JSON objects' };
  // The body brings only its own keys: it can neither add to the device's part nor override it.
  const json: Record<string, unknown> = { ...own };
  for (const key of DESIRED_BODY_KEYS) {
    delete json[key];
    if (body[key] !== undefined) json[key] = body[key];
  }
  const parsed = DesiredStatement.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return { ok: false, code: 'invalid', reason: `signed statement is not a desired statement: ${issues}` };
  }
  return { ok: true, envelope: decoded.value, statement: parsed.data };
}

/**
 * Checks that the envelope's statement, body and proof lead to a root signed by a key of
 * `trusted` (revoked keys already taken out). Never throws.
 */
export function verifyDesiredSignature(
  envelope: SignedDesired,
  trusted: readonly ReleaseKey[],
  revoked: ReadonlySet<string> = new Set(),
  verified?: VerifiedSignatures,
): { ok: true; keyId: string } | DesiredRefusal {
  const found = signingKey('desired state', envelope.signature.keyId, trusted, revoked);
  if (!found.ok) return found;
  const { key } = found;
  // The body's digest is in the leaf and the leaf's path leads to the signed root: one check covers all four parts.
  const root = rootOfProof(desiredLeaf(bodyDigest(envelope.body), envelope.statement), envelope.proof);
  const seen = root && verified ? `${key.publicKey}\n${root.toString('base64')}\n${envelope.signature.value}` : undefined;
  const valid = root !== undefined && (verified?.has(seen!) || verifiesWith(key, desiredSigningPayload(root), envelope.signature.value));
  if (valid && seen) verified!.add(seen);
  return valid
    ? { ok: true, keyId: key.keyId }
    : { ok: false, code: 'forged', reason: `desired state signature does not verify with key ${key.keyId}: altered or forged` };
}

/**
 * The trusted key `keyId` names, or why there is none; `what` names the message in the refusal.
 * Shared by every signed message a device acts on (desired states, commands).
 */
export function signingKey(
  what: string,
  keyId: string,
  trusted: readonly ReleaseKey[],
  revoked: ReadonlySet<string>,
): { ok: true; key: ReleaseKey } | { ok: false; code: 'revoked-key' | 'unknown-key'; reason: string } {
  if (revoked.has(keyId))
    return { ok: false, code: 'revoked-key', reason: `${what} signed by key ${keyId}, which the control plane revoked` };
  const key = trusted.find((k) => k.keyId === keyId);
  if (key) return { ok: true, key };
  return {
    ok: false,
    code: 'unknown-key',
    reason: `${what} signed by key ${keyId}, which this device does not trust (trusted: ${trusted.map((k) => k.keyId).join(', ') || 'none'})`,
  };
}

/** Whether `value` (base64) is `key`'s ed25519 signature over `payload`. Never throws. */
export function verifiesWith(key: ReleaseKey, payload: Buffer, value: string): boolean {
  try {
    return verify(null, payload, publicKeyObject(key.publicKey), Buffer.from(value, 'base64'));
  } catch {
    return false;
  }
}

/**
 * Signatures that verified, for a process that reads many devices' messages (the simulator): the
 * messages of one batch share one signature over one root, which is then checked once. A hit is
 * as sound as checking again: the root is recomputed from each message's own statement, body and
 * proof, and only a (key, root, signature) that verified is kept. A device, reading only its own
 * messages, needs none. Bounded: the oldest entries go first.
 */
export class VerifiedSignatures {
  private readonly seen = new Set<string>();

  constructor(private readonly capacity = 4096) {}

  has(entry: string): boolean {
    return this.seen.has(entry);
  }

  add(entry: string): void {
    if (this.seen.size >= this.capacity) this.seen.delete(this.seen.values().next().value!);
    this.seen.add(entry);
  }
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

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
