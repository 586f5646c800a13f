import { z } from 'zod';
import { AssemblySpec } from '../../assembly/spec';
import { EndorsedReleaseKey } from '../../api/signing-keys';
import { ReleaseSignature } from '../../releases/signing';
import { RegistryAuth } from '../../registries/registry-auth';
import { PROOF_STEP } from '../desired-batch';
import { revision } from '../storable';
import { UpdatePolicy } from '../update-policy';
import { MAX_PAYLOAD_BYTES } from './envelope';
import { schema, timestamp } from './fields';

export const Release = z.object({
  id: z.string().uuid(),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  assembly: AssemblySpec,
  signature: ReleaseSignature,
});
export type Release = z.infer<typeof Release>;

export const Desired = z.object({
  schema,
  /** Grows by one at every change of what the device should run; never reused. */
  rev: z.number().int().nonnegative(),
  release: Release.nullable(),
  config: z.record(z.string(), z.string()),
  /**
   * Access to the private registries the release pulls from, and no others: logins granted to
   * the device's fleet, or short-lived pull tokens. Outside the signed release on purpose: they
   * rotate without a new release. Absent when none are needed.
   */
  registryAuth: z.array(RegistryAuth).max(64).optional(),
  /**
   * The release-signing key rotation chain, oldest first: each key endorsed by the key before
   * it. A device adds a key only when the endorsement verifies with a key it already trusts
   * (`verifyKeyEndorsement`), so a rotated key reaches devices without re-provisioning. Absent
   * until the first rotation.
   */
  keyEndorsements: z.array(EndorsedReleaseKey).max(256).optional(),
  /** Update locks: the operator's `force` and the fleet's longest deferral (update-policy.ts). Absent: no override, no limit. */
  updatePolicy: UpdatePolicy.optional(),
});
export type Desired = z.infer<typeof Desired>;

/**
 * What the control plane signs (`sealDesired`, `desired-signing.ts`): the desired state plus
 * whom it is for and how long it holds, so that a signed statement cannot be replayed to
 * another device, later, or in place of a newer one.
 */
export const DesiredStatement = Desired.extend({
  /** The device this statement is for; any other device refuses it. */
  deviceId: z.string().min(1).max(64),
  /** When the control plane signed it; never goes backwards for one device. */
  issuedAt: timestamp,
  /** After this the statement is stale and refused; a device gets a fresh one with `desired/get`. */
  expiresAt: timestamp,
  /** When `release` was created; a device takes an older release than it ever ran only with `rollback`. */
  releaseCreatedAt: timestamp.nullable(),
  /** The control plane means to go back to an older release (a rollout's rollback, a pin). */
  rollback: z.boolean(),
  /** Signing keys the control plane revoked: a device stops trusting them for good. */
  revokedKeys: z.array(z.string().min(1).max(128)).max(256).optional(),
});
export type DesiredStatement = z.infer<typeof DesiredStatement>;

/** The parts of a statement shared by every device of a fan-out: they travel as the `body`. */
export const DESIRED_BODY_KEYS = ['release', 'keyEndorsements', 'revokedKeys'] as const;

/**
 * The `desired` message on the wire (`desired-signing.ts`, `desired-batch.ts`). `statement` is the
 * JSON text of the device's own part of a `DesiredStatement` (whom, which rev, until when, its
 * config), `body` the JSON text of the parts a fan-out shares (`DESIRED_BODY_KEYS`: the release,
 * the key chain, the revocations), the same bytes for every device. One signature covers a batch
 * of statements through a hash tree; `proof` leads from this statement and body to its signed root.
 */
export const SignedDesired = z.object({
  schema,
  statement: z.string().max(MAX_PAYLOAD_BYTES),
  body: z.string().max(MAX_PAYLOAD_BYTES),
  proof: z.array(z.string().regex(PROOF_STEP, 'a proof step is L or R and a base64 SHA-256')).max(32),
  signature: ReleaseSignature,
});
export type SignedDesired = z.infer<typeof SignedDesired>;

export const DesiredGet = z.object({
  schema,
  rev: revision(),
  /**
   * Answer even when `rev` is current: the registry tokens of the held desired state have
   * expired (or will before a pull ends). The answer carries the same rev with fresh tokens,
   * which the agent takes for that rev's registry access only.
   */
  refresh: z.literal(true).optional(),
});
export type DesiredGet = z.infer<typeof DesiredGet>;
