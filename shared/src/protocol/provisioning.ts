import { z } from 'zod';
import { ReleaseKey } from '../releases/signing';

/**
 * `provisioning.json`, written to a board's boot partition when its image is built or
 * configured: where the control plane is and a fleet-scoped token to register with.
 */
export const ProvisioningFile = z.object({
  schema: z.literal(1),
  apiUrl: z.string().url(),
  mqttUrl: z.string().regex(/^mqtts?:\/\/[^/]+$/, 'expected mqtt://host:port or mqtts://host:port'),
  token: z.string().min(16),
  name: z.string().min(1).max(128).optional(),
  board: z.string().min(1).optional(),
  /** The control plane's release-signing public keys, pinned by the device. */
  releaseKeys: z.array(ReleaseKey).min(1),
});
export type ProvisioningFile = z.infer<typeof ProvisioningFile>;

/** What the agent keeps in its state directory once it has registered. */
export const DeviceCredential = z.object({
  schema: z.literal(1),
  deviceId: z.string(),
  password: z.string().min(16),
  apiUrl: z.string().url(),
  mqttUrl: z.string(),
  releaseKeys: z.array(ReleaseKey).min(1),
});
export type DeviceCredential = z.infer<typeof DeviceCredential>;
