import { z } from 'zod';
import { RequestUuid } from './request-uuid';
import { AssemblySpec } from '../assembly/spec';
import { Inventory } from '../protocol/messages/device-facts';
import { EVENT_KINDS } from '../protocol/messages/events';
import { Reported, UPDATE_PHASES } from '../protocol/messages/reported';
import { ProvisioningFile } from '../protocol/provisioning';
import { ReleaseSignature } from '../releases/signing';
import { ConfigMap } from './fleets';

/** Request and response bodies of the REST API under `/api/v1`. */

export const CreateProvisioningTokenRequest = z
  .object({
    maxUses: z.number().int().min(1).max(100_000).default(1),
    expiresInSeconds: z
      .number()
      .int()
      .min(60)
      .max(365 * 24 * 3600)
      .default(7 * 24 * 3600),
    /** A device registered with the token joins this fleet (and gets its target release). */
    fleetId: RequestUuid.optional(),
  })
  .strict();
export type CreateProvisioningTokenRequest = z.infer<typeof CreateProvisioningTokenRequest>;

export const ProvisioningTokenView = z.object({
  id: z.string(),
  /** Shown once, at creation; only its hash is stored. */
  token: z.string(),
  maxUses: z.number().int(),
  uses: z.number().int(),
  expiresAt: z.string(),
  fleetId: z.string().nullable(),
  revokedAt: z.string().nullable(),
  /** A ready `provisioning.json` for this token: save it to a board's boot partition. */
  provisioning: ProvisioningFile,
});
export type ProvisioningTokenView = z.infer<typeof ProvisioningTokenView>;

/** A token without its secret: what revocation (and any later listing) answers with. */
export const ProvisioningTokenSummary = ProvisioningTokenView.omit({ token: true, provisioning: true });
export type ProvisioningTokenSummary = z.infer<typeof ProvisioningTokenSummary>;

export const ReleaseView = z.object({
  id: z.string(),
  name: z.string(),
  version: z.string(),
  digest: z.string(),
  createdAt: z.string(),
  /** The operator (API key name) who published it. */
  createdBy: z.string(),
  /** The fully resolved assembly: library references are already merged in. */
  assembly: AssemblySpec,
  signature: ReleaseSignature,
});
export type ReleaseView = z.infer<typeof ReleaseView>;

/** `GET /api/v1/releases`: newest first; `name` keeps one assembly's versions. */
export const ReleaseListQuery = z.object({ name: z.string().min(1).max(128).optional() });
export type ReleaseListQuery = z.infer<typeof ReleaseListQuery>;

export const AssignReleaseRequest = z.object({ releaseId: RequestUuid }).strict();
export type AssignReleaseRequest = z.infer<typeof AssignReleaseRequest>;

export const DeviceView = z.object({
  id: z.string(),
  name: z.string(),
  board: z.string().nullable(),
  online: z.boolean(),
  lastSeenAt: z.string().nullable(),
  createdAt: z.string(),
  desired: z.object({ rev: z.number().int(), releaseId: z.string().nullable() }),
  reported: Reported.nullable(),
  inventory: Inventory.nullable(),
  fleetId: z.string().nullable(),
  tags: z.array(z.string()),
  /** When set, the device runs this release whatever its fleet targets. */
  pinnedReleaseId: z.string().nullable(),
  /** The device's own configuration overrides (on top of its fleet's). */
  config: ConfigMap,
  /** What `desired.config` carries: fleet configuration ⊕ the device's overrides. */
  effectiveConfig: ConfigMap,
  /** From the last `reported.update.phase`; null before the first report. */
  updatePhase: z.enum(UPDATE_PHASES).nullable(),
  lastEvent: z
    .object({ at: z.string(), kind: z.enum(EVENT_KINDS).or(z.string()), rev: z.number().int().nullable(), message: z.string() })
    .nullable(),
  /** Set once the device was decommissioned: its credential is revoked and it cannot connect. */
  decommissionedAt: z.string().nullable(),
});
export type DeviceView = z.infer<typeof DeviceView>;

/** Every API error body: a stable code, a message for a person, and per-field issues when the input was at fault. */
export const ApiError = z.object({
  statusCode: z.number().int(),
  code: z.string(),
  message: z.string(),
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
export type ApiError = z.infer<typeof ApiError>;
