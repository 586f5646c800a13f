import type { DesiredRefusal } from './desired-signing';
import type { DesiredStatement } from './messages/desired';

/**
 * The highest point a device has accepted: a verified statement must go past it. Kept by the
 * agent across restarts; the zero watermark is where a newly provisioned device starts.
 */
export interface DesiredWatermark {
  rev: number;
  /** `issuedAt` of the last statement taken (ISO), null before the first. */
  issuedAt: string | null;
  /** `releaseCreatedAt` of the newest release ever taken (ISO), null before the first. */
  newestReleaseAt: string | null;
}

export const ZERO_WATERMARK: DesiredWatermark = { rev: 0, issuedAt: null, newestReleaseAt: null };

export interface AdmissionContext {
  deviceId: string;
  now: Date;
  watermark: DesiredWatermark;
  /** The highest rev the updater holds (active, candidate, pending or failed). */
  heldRev: number;
}

/** `duplicate`: the rev held now, delivered again (a QoS 1 redelivery): ignored quietly, it changes nothing. */
export type Admission = { ok: true; watermark: DesiredWatermark } | DesiredRefusal | { ok: false; code: 'duplicate'; reason: string };

/**
 * Whether a statement whose signature verified may move the device: it must be for this device,
 * not stale, newer than anything taken (rev, and issue time), and not go back to an older
 * release unless it says `rollback`. Pure: the caller persists the returned watermark.
 */
export function admitDesired(statement: DesiredStatement, ctx: AdmissionContext): Admission {
  const { watermark } = ctx;
  if (statement.deviceId !== ctx.deviceId) {
    return { ok: false, code: 'wrong-device', reason: `desired rev ${statement.rev} is for device ${statement.deviceId}, not this one` };
  }
  if (Date.parse(statement.expiresAt) <= ctx.now.getTime()) {
    return {
      ok: false,
      code: 'stale',
      reason: `desired rev ${statement.rev} expired at ${statement.expiresAt} (device clock ${ctx.now.toISOString()}); a fresh one comes with desired/get`,
    };
  }
  const held = Math.max(watermark.rev, ctx.heldRev);
  if (statement.rev <= held) {
    if (statement.rev === held) return { ok: false, code: 'duplicate', reason: `desired rev ${statement.rev} already held` };
    return {
      ok: false,
      code: 'replayed',
      reason: `desired rev ${statement.rev} is not newer than rev ${held} held: replayed or out of date`,
    };
  }
  if (watermark.issuedAt !== null && Date.parse(statement.issuedAt) < Date.parse(watermark.issuedAt)) {
    return {
      ok: false,
      code: 'replayed',
      reason: `desired rev ${statement.rev} was issued at ${statement.issuedAt}, before the last one taken (${watermark.issuedAt})`,
    };
  }
  const releaseAt = statement.release ? statement.releaseCreatedAt : null;
  const older = releaseAt !== null && watermark.newestReleaseAt !== null && Date.parse(releaseAt) < Date.parse(watermark.newestReleaseAt);
  if (older && !statement.rollback) {
    return {
      ok: false,
      code: 'older-release',
      reason: `desired rev ${statement.rev} goes back to release ${statement.release!.id} (created ${releaseAt}), older than one this device ran (${watermark.newestReleaseAt}), without a signed rollback`,
    };
  }
  return {
    ok: true,
    watermark: {
      rev: statement.rev,
      issuedAt: statement.issuedAt,
      newestReleaseAt: older || releaseAt === null ? watermark.newestReleaseAt : releaseAt,
    },
  };
}
