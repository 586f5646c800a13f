import { z } from 'zod';
import { ComponentConfigKey, ComponentManifest } from '../assembly/component';

/** A library component as the API shows it: its manifest as accepted, and when it was added. */
export const ComponentView = z.object({
  name: z.string(),
  version: z.string(),
  image: z.string(),
  description: z.string().nullable(),
  /** The manifest as stored (defaults included), the same shape `POST /api/v1/components` takes. */
  manifest: ComponentManifest,
  config: z.record(z.string(), ComponentConfigKey),
  createdAt: z.string(),
  createdBy: z.string(),
});
export type ComponentView = z.infer<typeof ComponentView>;

/** What changes from one release to another (`GET /api/v1/releases/:id/diff/:otherId`: from `:id` to `:otherId`). */
export const ReleaseDiff = z.object({
  from: z.object({ id: z.string(), name: z.string(), version: z.string() }),
  to: z.object({ id: z.string(), name: z.string(), version: z.string() }),
  components: z.object({
    added: z.array(z.string()),
    removed: z.array(z.string()),
    /** Components present in both whose spec differs, with the top-level fields that differ. */
    changed: z.array(z.object({ name: z.string(), fields: z.array(z.string()) })),
    unchanged: z.array(z.string()),
  }),
  /** Images the target release runs that the source release does not: what a device must pull. */
  imagesToFetch: z.array(z.string()),
  /** Assembly-level fields that differ (probationMs, boards, volumes, networks). */
  assemblyFields: z.array(z.string()),
});
export type ReleaseDiff = z.infer<typeof ReleaseDiff>;
