import {
  ZERO_WATERMARK,
  admitDesired,
  readSignedDesired,
  verifyDesiredSignature,
  verifyKeyEndorsement,
  type DesiredStatement,
  type DesiredWatermark,
  type ReleaseKey,
  type VerifiedSignatures,
} from '@flotilla/shared';

export type SimDesiredOutcome = { ok: true; statement: DesiredStatement } | { ok: false; duplicate: boolean; reason: string };

/**
 * A simulated device's desired gate: the agent's checks (`DesiredGate`), lighter. Key
 * endorsements are followed in one pass and kept in memory; without `releaseKeys` the signature
 * is not checked, but a statement for another device, stale or not newer is still refused.
 */
export class SimDesiredCheck {
  private watermark: DesiredWatermark = ZERO_WATERMARK;
  private readonly trusted: ReleaseKey[];

  constructor(
    private readonly deviceId: string,
    private readonly releaseKeys: readonly ReleaseKey[] | undefined,
    /** Shared by the simulation's devices: a batch's one signature is checked once, not once per device. */
    private readonly verified?: VerifiedSignatures,
  ) {
    this.trusted = [...(releaseKeys ?? [])];
  }

  admit(payload: Buffer, heldRev: number): SimDesiredOutcome {
    const read = readSignedDesired(payload);
    if (!read.ok) return { ok: false, duplicate: false, reason: read.reason };
    if (this.releaseKeys) {
      for (const key of read.statement.keyEndorsements ?? []) {
        if (this.trusted.some((k) => k.keyId === key.keyId) || !verifyKeyEndorsement(key, key.endorsement, this.trusted)) continue;
        this.trusted.push({ keyId: key.keyId, publicKey: key.publicKey });
      }
      const signature = verifyDesiredSignature(read.envelope, this.trusted, new Set(read.statement.revokedKeys), this.verified);
      if (!signature.ok) return { ok: false, duplicate: false, reason: signature.reason };
    }
    const admission = admitDesired(read.statement, { deviceId: this.deviceId, now: new Date(), watermark: this.watermark, heldRev });
    if (!admission.ok) return { ok: false, duplicate: admission.code === 'duplicate', reason: admission.reason };
    this.watermark = admission.watermark;
    return { ok: true, statement: read.statement };
  }
}
