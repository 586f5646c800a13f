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
});
export type RegistryCredentialsView = z.infer<typeof RegistryCredentialsView>;
