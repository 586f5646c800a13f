import { z } from 'zod';
import { AssemblySpec } from '../assembly/spec';
import { Inventory, Reported } from '../protocol/messages';

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
  })
  .strict();
export type CreateProvisioningTokenRequest = z.infer<typeof CreateProvisioningTokenRequest>;

export const ProvisioningTokenView = z.object({
  id: z.string(),
  /** Shown once, at creation; only its hash is stored. */
  token: z.string(),
  maxUses: z.number().int(),
  expiresAt: z.string(),
});
export type ProvisioningTokenView = z.infer<typeof ProvisioningTokenView>;

export const RegisterDeviceRequest = z
  .object({
    token: z.string().min(1),
    name: z.string().min(1).max(128).optional(),
    board: z.string().min(1).max(64).optional(),
  })
  .strict();
export type RegisterDeviceRequest = z.infer<typeof RegisterDeviceRequest>;

export const RegisterDeviceResponse = z.object({
  deviceId: z.string(),
  /** The device's own MQTT password; shown once, stored hashed. */
  password: z.string(),
  mqttUrl: z.string(),
});
export type RegisterDeviceResponse = z.infer<typeof RegisterDeviceResponse>;

export const ReleaseView = z.object({
  id: z.string(),
  name: z.string(),
  version: z.string(),
  digest: z.string(),
  createdAt: z.string(),
  assembly: AssemblySpec,
});
export type ReleaseView = z.infer<typeof ReleaseView>;

export const AssignReleaseRequest = z.object({ releaseId: z.string().uuid() }).strict();
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
