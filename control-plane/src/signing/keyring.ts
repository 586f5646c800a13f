import { createPublicKey, sign, type KeyObject } from 'node:crypto';
import {
  keyEndorsementPayload,
  releaseKeyId,
  sealDesired,
  type DesiredStatement,
  type SignedDesired,
  signRelease,
  type EndorsedReleaseKey,
  type ReleaseKey,
  type ReleaseSignature,
  type SignableRelease,
  type SigningKeyView,
} from '@flotilla/shared';
import type { StoredKey } from './key-store';

interface RingKey {
  keyId: string;
  privateKey: KeyObject;
  publicKey: string;
  createdAt: Date;
}

/**
 * The release-signing keys in rotation order: the last one signs, all are listed. Each key
 * after the first carries an endorsement by its predecessor (ed25519 signatures are
 * deterministic, so it is recomputed rather than stored).
 */
export class Keyring {
  private readonly keys: RingKey[];
  /** Signed once per rotation, not once per `desired` sent. */
  private chain: EndorsedReleaseKey[] | undefined;

  constructor(stored: readonly StoredKey[]) {
    if (stored.length === 0) throw new Error('a keyring needs at least one key');
    this.keys = stored.map((k) => toRingKey(k));
  }

  get currentKeyId(): string {
    return this.current.keyId;
  }

  sign(release: SignableRelease): ReleaseSignature {
    return signRelease(release, this.current.privateKey, this.current.keyId);
  }

  sealDesired(statement: DesiredStatement): SignedDesired {
    return sealDesired(statement, this.current.privateKey, this.current.keyId);
  }

  /** Keys devices must stop trusting. */
  revokedKeyIds(): string[] {
    return [];
  }

  /** Every public key, oldest first: what a newly provisioned device pins. */
  releaseKeys(): ReleaseKey[] {
    return this.keys.map((k) => ({ keyId: k.keyId, publicKey: k.publicKey }));
  }

  /**
   * The rotation chain, oldest first: every key after the first with its predecessor's
   * endorsement. Devices take it from `desired` and follow it from the keys they pinned.
   */
  endorsedKeys(): EndorsedReleaseKey[] {
    this.chain ??= this.keys.slice(1).map((k, i) => {
      const previous = this.keys[i]!;
      const key = { keyId: k.keyId, publicKey: k.publicKey };
      return {
        ...key,
        endorsement: { keyId: previous.keyId, value: sign(null, keyEndorsementPayload(key), previous.privateKey).toString('base64') },
      };
    });
    return this.chain;
  }

  views(): SigningKeyView[] {
    const endorsements = new Map(this.endorsedKeys().map((k) => [k.keyId, k.endorsement]));
    return this.keys.map((k, i) => ({
      keyId: k.keyId,
      algorithm: 'ed25519',
      publicKey: k.publicKey,
      createdAt: k.createdAt.toISOString(),
      current: i === this.keys.length - 1,
      endorsement: endorsements.get(k.keyId) ?? null,
    }));
  }

  /** Makes `key` the signing key; the others stay for verification. */
  add(key: StoredKey): void {
    this.keys.push(toRingKey(key));
    this.chain = undefined;
  }

  private get current(): RingKey {
    return this.keys[this.keys.length - 1]!;
  }
}

function toRingKey(k: StoredKey): RingKey {
  const publicKey = createPublicKey(k.privateKey);
  return {
    keyId: releaseKeyId(publicKey),
    privateKey: k.privateKey,
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    createdAt: k.createdAt,
  };
}
