import { z } from 'zod';

/**
 * Binary layer deltas between two images (issue 18 item 3). The control plane computes them once
 * per (from, to, architecture) and serves them to devices; the agent rebuilds each changed layer
 * from a layer it already holds and checks it against the release's own digests before the
 * engine sees it. Layers are compared uncompressed (the `diff_ids` of the image config): the
 * engine keeps layers unpacked, so an uncompressed layer is what a device can reproduce exactly.
 */

const Digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'a sha256 digest (sha256:<64 hex>)');

export const DeltaLayer = z.object({
  /** The layer as the image config names it (sha256 of the uncompressed tar). */
  diffId: Digest,
  /** The compressed blob in the registry: what a full pull downloads for this layer. */
  blob: z.object({ digest: Digest, size: z.number().int().nonnegative() }),
  /** How the device gets it: it holds it already, it patches a layer of `from`, or the full blob. */
  source: z.enum(['held', 'delta', 'full']),
  /** For `delta`: the layer of `from` it patches, and the patch (zstd --patch-from). */
  base: Digest.optional(),
  delta: z.object({ digest: Digest, size: z.number().int().nonnegative() }).optional(),
});
export type DeltaLayer = z.infer<typeof DeltaLayer>;

export const ImageDeltaStatus = z.enum(['computing', 'ready', 'failed']);
export type ImageDeltaStatus = z.infer<typeof ImageDeltaStatus>;

export const ImageDelta = z.object({
  from: z.string(),
  to: z.string(),
  architecture: z.string(),
  status: ImageDeltaStatus,
  /** The platform manifest of `to` the layers belong to (pinned by digest). */
  manifest: Digest.nullable(),
  layers: z.array(DeltaLayer),
  /** What the device downloads with the deltas, and with a full pull of the layers it lacks. */
  deltaBytes: z.number().int().nonnegative().nullable(),
  fullBytes: z.number().int().nonnegative().nullable(),
  error: z.string().nullable(),
});
export type ImageDelta = z.infer<typeof ImageDelta>;

/** Asks for the delta between two images pinned by digest (operator `POST /api/v1/deltas`, or a device's GET). */
export const ImageDeltaRequest = z
  .object({
    from: z.string().regex(/@sha256:[0-9a-f]{64}$/, 'an image pinned by digest'),
    to: z.string().regex(/@sha256:[0-9a-f]{64}$/, 'an image pinned by digest'),
    /** The device's platform without its os (linux): `arm64`, `arm/v7`; an arm variant picks its entry of a multi-arch image. */
    architecture: z
      .string()
      .regex(/^[a-z0-9_]{1,32}(\/v[0-9]{1,2})?$/, 'an architecture as the engine names it, with the arm variant (amd64, arm64, arm/v7)'),
  })
  .strict();
export type ImageDeltaRequest = z.infer<typeof ImageDeltaRequest>;

/** Routes a device uses with its own credentials (HTTP Basic: device id and password). */
export const DEVICE_DELTA_PATH = '/api/v1/device-deltas';
export const deviceDeltaBlobPath = (digest: string): string => `${DEVICE_DELTA_PATH}/blobs/${digest}`;
