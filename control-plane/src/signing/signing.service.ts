import { Inject, Injectable } from '@nestjs/common';
import type { EndorsedReleaseKey, ReleaseKey, ReleaseSignature, SignableRelease, SigningKeysView } from '@flotilla/shared';
import { KeyStore } from './key-store';
import { Keyring } from './keyring';

export const SIGNING_KEY_STORE = Symbol('SigningKeyStore');
export const SIGNING_KEYRING = Symbol('SigningKeyring');

/**
 * Signs releases with the control plane's current key and rotates it. Rotation is per
 * control-plane process: replicas sharing a data directory pick the new key up on restart.
 */
@Injectable()
export class SigningService {
  constructor(
    @Inject(SIGNING_KEY_STORE) private readonly store: KeyStore,
    @Inject(SIGNING_KEYRING) private readonly keyring: Keyring,
  ) {}

  sign(release: SignableRelease): ReleaseSignature {
    return this.keyring.sign(release);
  }

  releaseKeys(): ReleaseKey[] {
    return this.keyring.releaseKeys();
  }

  /** The rotation chain `desired` carries, so devices learn rotated keys; empty before the first rotation. */
  endorsedKeys(): EndorsedReleaseKey[] {
    return this.keyring.endorsedKeys();
  }

  list(): SigningKeysView {
    return { keys: this.keyring.views() };
  }

  /** A new key signs from now on; releases signed before keep their signatures and stay valid. */
  async rotate(): Promise<SigningKeysView> {
    this.keyring.add(await this.store.create());
    return this.list();
  }
}
