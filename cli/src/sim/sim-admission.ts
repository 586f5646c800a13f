import {
  ZERO_WATERMARK,
  admitCommand,
  admitDesired,
  readSignedCommand,
  readSignedDesired,
  verifyCommandSignature,
  verifyDesiredSignature,
  verifyKeyEndorsement,
  type CommandStatement,
  type DesiredStatement,
  type DesiredWatermark,
  type ReleaseKey,
  type VerifiedSignatures,
} from '@flotilla/shared';

export type SimDesiredOutcome = { ok: true; statement: DesiredStatement } | { ok: false; duplicate: boolean; reason: string };
export type SimCommandOutcome = { ok: true; statement: CommandStatement } | { ok: false; reason: string; id?: string };

/**
 * A simulated device's gate for what the control plane sends it: the agent's checks
 * (`DesiredGate`, `CommandGate`), lighter. Key endorsements are followed in one pass and kept in
 * memory; without `releaseKeys` signatures are not checked, but a statement for another device,
 * stale, not newer (a desired state) or already run (a command) is still refused.
 */
export class SimAdmission {
  private watermark: DesiredWatermark = ZERO_WATERMARK;
  /** Ids of the commands run: a simulation is short, so kept whole. */
  private readonly commandsRun = new Set<string>();
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
      this.follow(read.statement.keyEndorsements);
      const signature = verifyDesiredSignature(read.envelope, this.trusted, new Set(read.statement.revokedKeys), this.verified);
      if (!signature.ok) return { ok: false, duplicate: false, reason: signature.reason };
    }
    const admission = admitDesired(read.statement, { deviceId: this.deviceId, now: new Date(), watermark: this.watermark, heldRev });
    if (!admission.ok) return { ok: false, duplicate: admission.code === 'duplicate', reason: admission.reason };
    this.watermark = admission.watermark;
    return { ok: true, statement: read.statement };
  }

  command(payload: Buffer): SimCommandOutcome {
    const read = readSignedCommand(payload);
    if (!read.ok) return read;
    const { statement } = read;
    if (this.releaseKeys) {
      this.follow(statement.keyEndorsements);
      const signature = verifyCommandSignature(read.envelope, this.trusted, new Set(statement.revokedKeys));
      if (!signature.ok) return { ...signature, id: statement.id };
    }
    const admission = admitCommand(statement, { deviceId: this.deviceId, now: new Date(), taken: (id) => this.commandsRun.has(id) });
    if (!admission.ok) return admission;
    this.commandsRun.add(statement.id);
    return { ok: true, statement };
  }

  /** Trusts each endorsed key whose endorsement verifies with a key already trusted. */
  private follow(endorsements: DesiredStatement['keyEndorsements']): void {
    for (const key of endorsements ?? []) {
      if (this.trusted.some((k) => k.keyId === key.keyId) || !verifyKeyEndorsement(key, key.endorsement, this.trusted)) continue;
      this.trusted.push({ keyId: key.keyId, publicKey: key.publicKey });
    }
  }
}
