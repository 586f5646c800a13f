import { registryFacts as askRegistry, type RegistryAuth } from '@flotilla/shared/device';
import { pinnedHttpGet } from '../support/http-get';
import type { ImageFacts } from './preflight';

/**
 * What VERIFY learns from an image's registry before pulling it (size, architectures), over
 * the agent's own small HTTP GET (not `fetch`: see support/http-get.ts), trusting only the
 * device's pinned CAs. The protocol side, logins included, is @flotilla/shared's registry
 * client, which the control plane uses too.
 */
export function registryFacts(
  ref: string,
  architecture: string,
  auth?: RegistryAuth,
  ca?: readonly string[],
): Promise<Pick<ImageFacts, 'architectures' | 'sizeBytes'>> {
  return askRegistry(ref, architecture, { get: pinnedHttpGet(ca), ...(auth ? { auth } : {}) });
}
