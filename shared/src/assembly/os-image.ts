import { z } from 'zod';

/**
 * A root file system image for one board's inactive OS slot (see firmware-specs/ and
 * `flotilla image os`). The release's signature covers `sha256` and `size`, so the URL
 * may point anywhere the device can reach: the device streams it, hashes it, and refuses
 * bytes that do not match.
 */
export const OsImageSpec = z.object({
  board: z.string().min(1),
  version: z.string().min(1).max(64),
  url: z.string().url(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits'),
  size: z.number().int().positive(),
});
export type OsImageSpec = z.infer<typeof OsImageSpec>;
