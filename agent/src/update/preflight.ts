import {
  formatPlatform,
  platformRank,
  verifyRelease,
  type Platform,
  type PlatformFields,
  type Release,
  type ReleaseKey,
} from '@flotilla/shared/device';

/** What VERIFY knows about one image of the candidate before pulling it. */
export interface ImageFacts {
  ref: string;
  /** Already on the engine: needs no disk and no network. */
  present: boolean;
  /** Platforms the registry offers for it; undefined when the registry could not tell. */
  platforms?: PlatformFields[];
  /** Compressed size of its layers; undefined when unknown. */
  sizeBytes?: number;
}

export interface PreflightInput {
  release: Release | null;
  trustedKeys: readonly ReleaseKey[];
  /** The board spec name the agent recognized (`raspberrypi5`), or undefined. */
  board: string | undefined;
  /** The engine's platform, OCI names. */
  platform: Platform;
  images: ImageFacts[];
  freeDiskBytes: number;
  /** Free space to keep after the pulls, so the device still has room to log and write data. */
  reserveBytes: number;
  /** Assumed size of an image whose size the registry did not tell. */
  unknownImageBytes: number;
}

export type PreflightResult = { ok: true; bytesToPull: number } | { ok: false; reason: string };

/**
 * VERIFY's decisions, pure: signature, board, architecture, disk. Each refusal says what
 * is wrong and what a person can do about it; nothing on the device has changed yet.
 */
export function preflight(input: PreflightInput): PreflightResult {
  const { release } = input;
  if (!release) return { ok: true, bytesToPull: 0 };
  const signature = verifyRelease(release, input.trustedKeys);
  if (!signature.ok) return { ok: false, reason: `signature refused: ${signature.reason}` };

  const boards = release.assembly.boards;
  if (boards && boards.length > 0) {
    if (!input.board) {
      return {
        ok: false,
        reason: `release is for boards ${boards.join(', ')} but this device's board is unknown; set FLOTILLA_BOARD on the device or publish the release without "boards"`,
      };
    }
    if (!boards.includes(input.board)) {
      return {
        ok: false,
        reason: `release is for boards ${boards.join(', ')}, this device is a ${input.board}; publish a release that lists ${input.board} or assign another release`,
      };
    }
  }

  for (const image of input.images) {
    // As the engine matches (platform.ts): an arm/v7 device runs arm/v6 images, not the reverse.
    if (image.platforms && image.platforms.length > 0 && !image.platforms.some((p) => platformRank(input.platform, p) !== undefined)) {
      const device = formatPlatform(input.platform);
      return {
        ok: false,
        reason: `image ${image.ref} is built for ${image.platforms.map(formatPlatform).join(', ')}, this device runs ${device}; rebuild it for ${device} (or as a multi-arch image)`,
      };
    }
  }

  const bytesToPull = input.images.filter((i) => !i.present).reduce((sum, i) => sum + (i.sizeBytes ?? input.unknownImageBytes), 0);
  // Nothing to pull (an OS-only release, or every image already here) takes no disk.
  if (bytesToPull > 0 && input.freeDiskBytes - bytesToPull < input.reserveBytes) {
    return {
      ok: false,
      reason: `not enough disk: the images to pull need about ${mib(bytesToPull)} MiB and ${mib(input.reserveBytes)} MiB must stay free, but only ${mib(input.freeDiskBytes)} MiB are free; free space on the device or make the images smaller`,
    };
  }
  return { ok: true, bytesToPull };
}

function mib(bytes: number): number {
  return Math.round(bytes / 1024 / 1024);
}
