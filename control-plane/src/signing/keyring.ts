import { sign, type KeyObject } from 'node:crypto';
import {
  commandSigningPayload,
  desiredSigningPayload,
  keyEndorsementPayload,
  releaseKeyId,
  sealDesired,
  signRelease,
  type DesiredStatement,
  type EndorsedReleaseKey,
  type KeyEndorsement,
  type ReleaseKey,
  type ReleaseSignature,
  type SignableRelease,
  type SignedDesired,
  type SigningKeyView,
} from '@flotilla/shared';
import type { StoredKey } from './key-store';

/**
 * How many rotations a device may miss and still follow the key chain: the current key is
 * endorsed by each of the `horizon` keys before it (revoked ones left out). 32 keeps a daily
 * rotation's chain near 10 KB per `desired` and lets a device be away a month; a yearly one,
 * decades. A device away longer (or a provisioning file older) than that must be re-provisioned.
 */
export const DEFAULT_KEY_HORIZON = 32;

interface RingKey {
  stored: StoredKey;
  keyId: string;
  publicKey: string;
}

/**
 * The release-signing keys in rotation order; the newest key not revoked signs. Devices get a
 * bounded chain however often keys rotate: a checkpoint, the current key endorsed directly by
 * every key a device may still hold (the `horizon` keys before it, not revoked), instead of the
 * whole history. Endorsements are ed25519 signatures, deterministic, so they are recomputed once
 * per change of the ring rather than stored.
 */
export class Keyring {
  private readonly keys: RingKey[];
  private chain: EndorsedReleaseKey[] | undefined;
  private readonly predecessorEndorsements = new Map<string, KeyEndorsement | null>();

  constructor(
    stored: readonly StoredKey[],
    readonly horizon = DEFAULT_KEY_HORIZON,
  ) {
    if (!stored.some((k) => k.privateKey)) throw new Error('a keyring needs at least one key that is not revoked');
    if (horizon < 1 || horizon > 255) throw new Error(`key horizon ${horizon}: expected 1 to 255 rotations`);
    this.keys = stored.map(toRingKey);
  }

  get currentKeyId(): string {
    return this.current.keyId;
  }

  sign(release: SignableRelease): ReleaseSignature {
    return signRelease(release, this.signer, this.current.keyId);
  }

  sealDesired(statement: DesiredStatement): SignedDesired {
    return sealDesired(statement, this.signer, this.current.keyId);
  }

  /** Signs the root of a batch of desired statements (desired-sealer.ts builds the batch). */
  signDesiredRoot(root: Buffer): ReleaseSignature {
    return { alg: 'ed25519', keyId: this.current.keyId, value: sign(null, desiredSigningPayload(root), this.signer).toString('base64') };
  }

  /** Signs a command's exact statement text (@flotilla/shared `command-signing.ts`). */
  signCommand(statement: string): ReleaseSignature {
    return {
      alg: 'ed25519',
      keyId: this.current.keyId,
      value: sign(null, commandSigningPayload(statement), this.signer).toString('base64'),
    };
  }

  /** The keys a newly provisioned device pins: the current key and those within the horizon, not revoked. */
  releaseKeys(): ReleaseKey[] {
    return [...this.endorsers(), this.current].map((k) => ({ keyId: k.keyId, publicKey: k.publicKey }));
  }

  /** Revoked keys within reach of the horizon: a device that still trusts one learns to stop. */
  revokedKeyIds(): string[] {
    return this.window()
      .filter((k) => k.stored.revokedAt)
      .map((k) => k.keyId);
  }

  /**
   * The checkpoint `desired` carries: the current key endorsed by each key within the horizon,
   * oldest first; empty before the first rotation. Never longer than `horizon`.
   */
  endorsedKeys(): EndorsedReleaseKey[] {
    this.chain ??= this.endorsers().map((endorser) => endorse(this.current, endorser));
    return this.chain;
  }

  /** The key ids that endorse the current key, without signing anything (what `endorsedKeys` will sign). */
  chainPlan(): string[] {
    return this.endorsers().map((k) => k.keyId);
  }

  views(): SigningKeyView[] {
    const current = this.current;
    const window = new Set(this.window());
    return this.keys.map((k, i) => ({
      keyId: k.keyId,
      algorithm: 'ed25519',
      publicKey: k.publicKey,
      createdAt: k.stored.createdAt.toISOString(),
      current: k === current,
      status: k === current ? 'current' : k.stored.revokedAt ? 'revoked' : window.has(k) ? 'trusted' : 'retired',
      revokedAt: k.stored.revokedAt?.toISOString() ?? null,
      endorsement: this.predecessorEndorsement(i),
    }));
  }

  /** Makes `key` the signing key; the others stay for verification. */
  add(key: StoredKey): void {
    this.keys.push(toRingKey(key));
    this.chain = undefined;
  }

  find(keyId: string): StoredKey | undefined {
    return this.keys.find((k) => k.keyId === keyId)?.stored;
  }

  /** Replaces a key by its revoked record; the current key must have been rotated away first. */
  markRevoked(revoked: StoredKey): void {
    const i = this.keys.findIndex((k) => k.stored.name === revoked.name);
    if (i < 0) throw new Error(`no key ${revoked.name} in the ring`);
    if (this.keys[i] === this.current) throw new Error('rotate before revoking the current key');
    this.keys[i] = toRingKey(revoked);
    this.chain = undefined;
    this.predecessorEndorsements.clear();
  }

  private get current(): RingKey {
    for (let i = this.keys.length - 1; i >= 0; i--) if (!this.keys[i]!.stored.revokedAt) return this.keys[i]!;
    throw new Error('no signing key left: every key is revoked');
  }

  private get signer(): KeyObject {
    return this.current.stored.privateKey!;
  }

  /** The current key and the `horizon` keys before it, revoked ones included. */
  private window(): RingKey[] {
    const at = this.keys.indexOf(this.current);
    return this.keys.slice(Math.max(0, at - this.horizon), at + 1);
  }

  private endorsers(): RingKey[] {
    return this.window().filter((k) => k !== this.current && !k.stored.revokedAt);
  }

  /** The endorsement of key `i` by the key before it, as long as that one can still sign. */
  private predecessorEndorsement(i: number): KeyEndorsement | null {
    const key = this.keys[i]!;
    if (!this.predecessorEndorsements.has(key.keyId)) {
      const previous = i > 0 ? this.keys[i - 1]! : undefined;
      this.predecessorEndorsements.set(key.keyId, previous?.stored.privateKey ? endorse(key, previous).endorsement : null);
    }
    return this.predecessorEndorsements.get(key.keyId)!;
  }
}

function endorse(key: RingKey, by: RingKey): EndorsedReleaseKey {
  const endorsed = { keyId: key.keyId, publicKey: key.publicKey };
  const value = sign(null, keyEndorsementPayload(endorsed), by.stored.privateKey!).toString('base64');
  return { ...endorsed, endorsement: { keyId: by.keyId, value } };
}

function toRingKey(stored: StoredKey): RingKey {
  return {
    stored,
    keyId: releaseKeyId(stored.publicKey),
    publicKey: stored.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}
