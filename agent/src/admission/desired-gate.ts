import {
  admitDesired,
  readSignedDesired,
  verifyDesiredSignature,
  type DesiredRefusalCode,
  type DesiredStatement,
  type DesiredWatermark,
  type EndorsedReleaseKey,
} from '@flotilla/shared/device';
import type { DesiredTrust } from '../provisioning/trusted-key-store';
import { vouchedKeyIds } from '../provisioning/trusted-keys';
import type { Clock } from '../support/clock';

export type GateOutcome =
  | {
      ok: true;
      statement: DesiredStatement;
      /** Keys trusted from now on (their endorsement chain came with the statement) and keys revoked by it. */
      learned: { added: EndorsedReleaseKey[]; revoked: string[] };
    }
  /**
   * `duplicate`: the rev already held, delivered again; not worth an event. Its `statement` is
   * verified (signature, device, freshness): the answer to a refresh carries fresh registry tokens.
   */
  | { ok: false; code: DesiredRefusalCode | 'duplicate'; reason: string; rev?: number; statement?: DesiredStatement };

export interface GateDeps {
  deviceId: string;
  trust: DesiredTrust;
  watermark: { read(): Promise<DesiredWatermark>; write(w: DesiredWatermark): Promise<void> };
  clock: Clock;
  /** The highest rev the updater holds; a statement must be newer than it too. */
  heldRev: () => number;
}

/**
 * The only way into the device from the network: a `desired` message passes here or moves
 * nothing. In order: decode; learn (without keeping) the keys its endorsements earn; verify the
 * signature over the whole statement; check it is for this device, fresh, newer, and not an
 * unannounced downgrade; only then keep the new watermark, the learned keys and revocations
 * (trusting from then on only the keys the control plane still vouches for), and hand the
 * statement on. A refused message changes no file and no counter (the refusal is
 * the caller's event). Messages are judged one at a time, in arrival order.
 */
export class DesiredGate {
  private queue: Promise<unknown> = Promise.resolve();
  private watermark: DesiredWatermark | undefined;

  constructor(private readonly deps: GateDeps) {}

  admit(bytes: Uint8Array | string): Promise<GateOutcome> {
    const run = this.queue.then(() => this.judge(bytes));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async judge(bytes: Uint8Array | string): Promise<GateOutcome> {
    const read = readSignedDesired(bytes);
    if (!read.ok) return read;
    const { envelope, statement } = read;
    const rev = statement.rev;
    const trust = this.deps.trust.preview(statement.keyEndorsements ?? []);
    const signature = verifyDesiredSignature(envelope, trust.trusted, trust.revoked);
    // Before the signature verifies, nothing in the statement is believed, its rev included.
    if (!signature.ok) return signature;
    if (statement.revokedKeys?.includes(signature.keyId)) {
      return {
        ok: false,
        code: 'revoked-key',
        reason: `desired rev ${rev} is signed by key ${signature.keyId}, which it revokes itself`,
        rev,
      };
    }
    this.watermark ??= await this.deps.watermark.read();
    const admission = admitDesired(statement, {
      deviceId: this.deps.deviceId,
      now: this.deps.clock.now(),
      watermark: this.watermark,
      heldRev: this.deps.heldRev(),
    });
    if (!admission.ok) return admission.code === 'duplicate' ? { ...admission, rev, statement } : { ...admission, rev };
    await this.deps.watermark.write(admission.watermark);
    this.watermark = admission.watermark;
    const vouched = vouchedKeyIds(signature.keyId, statement.keyEndorsements ?? []);
    const learned = await this.deps.trust.accept(trust.added, statement.revokedKeys ?? [], vouched);
    return { ok: true, statement, learned };
  }
}
