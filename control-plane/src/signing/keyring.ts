import { createPublicKey, sign, type KeyObject } from 'node:crypto';
import {
  keyEndorsementPayload,
  releaseKeyId,
  signRelease,
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

  /** Every public key, oldest first: what a newly provisioned device pins. */
  releaseKeys(): ReleaseKey[] {
    return this.keys.map((k) => ({ keyId: k.keyId, publicKey: k.publicKey }));
  }

  views(): SigningKeyView[] {
    return this.keys.map((k, i) => {
      const previous = i > 0 ? this.keys[i - 1]! : undefined;
      return {
        keyId: k.keyId,
        algorithm: 'ed25519',
        publicKey: k.publicKey,
        createdAt: k.createdAt.toISOString(),
        current: i === this.keys.length - 1,
        endorsement: previous
          ? {
              keyId: previous.keyId,
              value: sign(null, keyEndorsementPayload({ keyId: k.keyId, publicKey: k.publicKey }), previous.privateKey).toString('base64'),
            }
          : null,
      };
    });
  }

  /** Makes `key` the signing key; the others stay for verification. */
  add(key: StoredKey): void {
    this.keys.push(toRingKey(key));
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
