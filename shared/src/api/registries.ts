import { z } from 'zod';

/** Credentials for a private registry, per registry host (admin only). The password is write-only. */
export const SetRegistryCredentialsRequest = z
  .object({
    username: z.string().min(1).max(256),
    password: z.string().min(1).max(4096),
  })
  .strict();
export type SetRegistryCredentialsRequest = z.infer<typeof SetRegistryCredentialsRequest>;

/** What the API tells about stored credentials: never the password. */
export const RegistryCredentialsView = z.object({
  /** As image references spell it: `registry.example.com`, `127.0.0.1:5001`, `docker.io`. */
  registry: z.string(),
  username: z.string(),
  updatedAt: z.string(),
  /** The operator key that last set them. */
  updatedBy: z.string(),
  /** The fleets whose admin-provisioned devices receive this login; no other device does. */
  grantedFleetIds: z.array(z.string()),
});
export type RegistryCredentialsView = z.infer<typeof RegistryCredentialsView>;

/** Seconds a device's pull token lives by default, and the bounds an admin may choose within. */
export const REGISTRY_TOKEN_TTL = { defaultSeconds: 900, minSeconds: 60, maxSeconds: 86_400 } as const;

/**
 * Marks a registry as one whose tokens this control plane issues (Docker distribution's token
 * authentication). `service` is the registry's `auth.token.service`, which the tokens name as
 * their audience; by default the host itself.
 */
export const SetRegistryTokenAuthRequest = z
  .object({
    service: z.string().min(1).max(256).optional(),
    ttlSeconds: z.number().int().min(REGISTRY_TOKEN_TTL.minSeconds).max(REGISTRY_TOKEN_TTL.maxSeconds).optional(),
  })
  .strict();
export type SetRegistryTokenAuthRequest = z.infer<typeof SetRegistryTokenAuthRequest>;

/** A token-issued registry, with what its configuration needs to trust this control plane. */
export const RegistryTokenAuthView = z.object({
  registry: z.string(),
  service: z.string(),
  /** The tokens' `iss`: the registry's `auth.token.issuer`. */
  issuer: z.string(),
  ttlSeconds: z.number().int(),
  /** PEM of the issuer certificate: the registry's `auth.token.rootcertbundle`. Public. */
  rootCertificate: z.string(),
  /** The `auth:` block to put into the registry's configuration file, ready to paste. */
  registryConfig: z.string(),
  updatedAt: z.string(),
  updatedBy: z.string(),
});
export type RegistryTokenAuthView = z.infer<typeof RegistryTokenAuthView>;
