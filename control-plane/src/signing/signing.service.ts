import { Inject, Injectable } from '@nestjs/common';
import {
  MAX_PAYLOAD_BYTES,
  PROTOCOL_SCHEMA,
  sealCommandWith,
  type Command,
  type CommandStatement,
  type SignedCommand,
  type EndorsedReleaseKey,
  type ReleaseKey,
  type ReleaseSignature,
  type SignableRelease,
  type SignedDesired,
  type SigningKeysView,
} from '@flotilla/shared';
import { KeyStore } from './key-store';
import { DesiredTooLargeError, SigningKeyNotFoundError } from './signing.errors';
import { DesiredSealer, type DesiredContent } from './desired-sealer';
import { Keyring } from './keyring';

export const SIGNING_KEY_STORE = Symbol('SigningKeyStore');
export const SIGNING_KEYRING = Symbol('SigningKeyring');

/**
 * How long a signed desired state holds. Long enough for a slow link and a device clock some
 * minutes off; short enough that a withheld message cannot be played to the device much later.
 * A device that was away gets a freshly signed one with `desired/get` when it reconnects.
 */
export const DESIRED_LIFETIME_MS = 60 * 60_000;

/**
 * Signs releases and desired states with the control plane's current key, rotates and revokes
 * keys. Per control-plane process: replicas sharing a data directory pick a change up on restart.
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

  /**
   * Signs a whole desired state for one device with the current key (a batch of one of the
   * fan-out's sealer, so both build the same messages): the content plus when it was issued, when
   * it goes stale, the key chain devices need to trust the signer, and the revoked keys they must
   * stop trusting. Throws `DesiredTooLargeError` when the message would exceed the broker's limit.
   */
  sealDesired(content: DesiredContent): SignedDesired {
    const [sealed] = this.desiredSealer().sealAll([content]);
    if (sealed instanceof DesiredTooLargeError) throw sealed;
    return sealed!.envelope;
  }

  /**
   * Signs a command for one device with the current key: the command plus whom it is for, when
   * it was issued and until when it may run, with the key chain and revocations `desired` carries.
   */
  sealCommand(command: Omit<Command, 'schema'>, deviceId: string, lifetimeMs: number): SignedCommand {
    const statement: CommandStatement = { schema: PROTOCOL_SCHEMA, ...command, deviceId, ...this.signedNow(lifetimeMs) };
    return sealCommandWith(statement, (text) => this.keyring.signCommand(text));
  }

  /**
   * A sealer for one fan-out: every desired state it seals carries the same issue time, key chain
   * and revocations, serialised once, and each distinct release once; each batch is signed once
   * (desired-sealer.ts).
   */
  desiredSealer(): DesiredSealer {
    return new DesiredSealer((root) => this.keyring.signDesiredRoot(root), this.signedNow(DESIRED_LIFETIME_MS), MAX_PAYLOAD_BYTES);
  }

  /** What every signed statement carries besides its content: issued now, held `lifetimeMs`, the key chain and revocations. */
  private signedNow(lifetimeMs: number): Pick<CommandStatement, 'issuedAt' | 'expiresAt' | 'keyEndorsements' | 'revokedKeys'> {
    const issuedAt = new Date();
    const keyEndorsements = this.keyring.endorsedKeys();
    const revokedKeys = this.keyring.revokedKeyIds();
    return {
      issuedAt: issuedAt.toISOString(),
      expiresAt: new Date(issuedAt.getTime() + lifetimeMs).toISOString(),
      ...(keyEndorsements.length > 0 ? { keyEndorsements } : {}),
      ...(revokedKeys.length > 0 ? { revokedKeys } : {}),
    };
  }

  releaseKeys(): ReleaseKey[] {
    return this.keyring.releaseKeys();
  }

  /** The rotation chain `desired` carries, so devices learn rotated keys; empty before the first rotation. */
  endorsedKeys(): EndorsedReleaseKey[] {
    return this.keyring.endorsedKeys();
  }

  list(): SigningKeysView {
    return { keys: this.keyring.views(), horizon: this.keyring.horizon };
  }

  /** A new key signs from now on, endorsed by every key within the horizon. */
  async rotate(): Promise<SigningKeysView> {
    this.keyring.add(await this.store.create());
    return this.list();
  }

  /**
   * Revokes a key: its private key is destroyed, no endorsement by it is handed out any more, and
   * every `desired` from now on tells devices to stop trusting it. Revoking the current key first
   * rotates to a new one, endorsed by the other keys within the horizon (not by the revoked one),
   * so devices follow without it. Revoking a revoked key changes nothing.
   */
  async revoke(keyId: string): Promise<SigningKeysView> {
    const key = this.keyring.find(keyId);
    if (!key) throw new SigningKeyNotFoundError(keyId);
    if (key.revokedAt) return this.list();
    if (keyId === this.keyring.currentKeyId) this.keyring.add(await this.store.create());
    this.keyring.markRevoked(await this.store.revoke(key));
    return this.list();
  }

  /** Delivery re-signs a release whose key is no longer current, so a device needs no key beyond the chain. */
  resignForDelivery<R extends SignableRelease & { signature: ReleaseSignature }>(release: R): R {
    return release.signature.keyId === this.keyring.currentKeyId ? release : { ...release, signature: this.keyring.sign(release) };
  }
}
