import { registryFacts as askRegistry, type RegistryAuth } from '@flotilla/shared/device';
import { pinnedHttpGet } from '../support/http-get';
import { jsonLogger, type Logger } from '../support/logger';
import type { ImageFacts } from './preflight';

/**
 * What VERIFY learns from an image's registry before pulling it (size, architectures), over
 * the agent's own small HTTP GET (not `fetch`: see support/http-get.ts), trusting only the
 * device's pinned CAs. The protocol side, logins included, is @flotilla/shared's registry
 * client, which the control plane uses too. Facts the registry could not tell, or told with
 * content that is not the digest asked for, are unknown (VERIFY assumes a size and any
 * architecture), and the log says why. The logger defaults to the agent's JSON lines on stdout.
 */
export function registryFacts(
  ref: string,
  architecture: string,
  auth?: RegistryAuth,
  ca?: readonly string[],
  logger: Logger = jsonLogger(),
): Promise<Pick<ImageFacts, 'architectures' | 'sizeBytes'>> {
  return askRegistry(ref, architecture, {
    get: pinnedHttpGet(ca),
    ...(auth ? { auth } : {}),
    onUnknown: (reason) => logger.warn('image facts unknown: VERIFY goes on without them', { ref, reason }),
  });
}
