import { registryFacts as askRegistry, type Platform, type RegistryAuth } from '@flotilla/shared/device';
import { pinnedHttpGet } from '../support/http-get';
import { jsonLogger, type Logger } from '../support/logger';
import type { ImageFacts } from './preflight';

/**
 * What VERIFY learns from an image's registry before pulling it (size, platforms), over
 * the agent's own small HTTP GET (not `fetch`: see support/http-get.ts), trusting only the
 * device's pinned CAs. The protocol side, logins included, is @flotilla/shared's registry
 * client, which the control plane uses too. Facts the registry could not tell, or told with
 * content that is not the digest asked for, are unknown (VERIFY assumes a size and any
 * platform), and the log says why. The logger defaults to the agent's JSON lines on stdout.
 */
export function registryFacts(
  ref: string,
  platform: Platform,
  auth?: RegistryAuth,
  ca?: readonly string[],
  logger: Logger = jsonLogger(),
): Promise<Pick<ImageFacts, 'platforms' | 'sizeBytes'>> {
  return askRegistry(ref, platform, {
    get: pinnedHttpGet(ca),
    ...(auth ? { auth } : {}),
    onUnknown: (reason) => logger.warn('image facts unknown: VERIFY goes on without them', { ref, reason }),
  });
}
