import { z } from 'zod';

/**
 * A version of the device agent a release carries (`x-flotilla.agent`): one JavaScript
 * bundle that runs on the board's Node runtime, whatever the architecture. The release's
 * signature covers `sha256` and `size`, so the URL may point anywhere the device can reach:
 * the device hashes what it downloads and refuses bytes that do not match. A device whose
 * agent has another version installs it beside the running one and switches under its
 * launcher, which falls back when the new agent does not connect and report in time.
 */
export const AgentReleaseSpec = z.object({
  version: z.string().min(1).max(64),
  url: z.string().url(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits'),
  size: z.number().int().positive(),
});
export type AgentReleaseSpec = z.infer<typeof AgentReleaseSpec>;
