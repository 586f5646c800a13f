import type { Platform, RegistryAuth, ReleaseKey } from '@flotilla/shared/device';
import type { ReleaseKeySource } from '../../provisioning/trusted-key-store';
import type { ContainerRuntime } from '../../runtime/container-runtime';
import type { Logger } from '../../support/logger';
import { UpdateRefusedError } from '../errors';
import type { Slot } from '../machine';
import { preflight, type ImageFacts } from '../preflight';
import type { RegistryAccess } from '../registry-access';
import { imagesOf } from '../slots';

export interface VerifyDeps {
  runtime: ContainerRuntime;
  logger: Logger;
  releaseKeys: readonly ReleaseKey[] | ReleaseKeySource;
  board: string | undefined;
  freeDiskBytes: (path: string) => Promise<number>;
  imageFacts: (ref: string, platform: Platform, auth?: RegistryAuth) => Promise<Pick<ImageFacts, 'platforms' | 'sizeBytes'>>;
  registryAccess: Pick<RegistryAccess, 'forRead'>;
  onKeyEvent: (kind: 'release-key-added' | 'release-key-refused', message: string) => void;
  reserveBytes: number;
  unknownImageBytes: number;
}

/**
 * VERIFY: the candidate is signed by a trusted key, made for this board and architecture,
 * and its images fit on the disk. Resolves with the sizes the registries told, which FETCH
 * uses for its progress; throws `UpdateRefusedError` with the reason otherwise.
 */
export async function verifyCandidate(deps: VerifyDeps, candidate: Slot): Promise<Map<string, number>> {
  const engine = await deps.runtime.engineInfo();
  const images: ImageFacts[] = await Promise.all(
    imagesOf(candidate).map(async (ref) => {
      const present = await deps.runtime.hasImage(ref);
      const auth = deps.registryAccess.forRead(ref, candidate);
      return { ref, present, ...(present ? {} : await deps.imageFacts(ref, engine.platform, auth)) };
    }),
  );
  const result = preflight({
    release: candidate.release,
    trustedKeys: await trustedKeys(deps, candidate),
    board: deps.board,
    platform: engine.platform,
    images,
    freeDiskBytes: await deps.freeDiskBytes(engine.dataRoot),
    reserveBytes: deps.reserveBytes,
    unknownImageBytes: deps.unknownImageBytes,
  });
  if (!result.ok) throw new UpdateRefusedError(result.reason);
  return new Map(images.filter((i) => i.sizeBytes !== undefined).map((i) => [i.ref, i.sizeBytes!]));
}

/** The keys the candidate is checked against: learning rotated keys from its endorsements first, with an event for each. */
async function trustedKeys(deps: VerifyDeps, candidate: Slot): Promise<readonly ReleaseKey[]> {
  const source = deps.releaseKeys;
  if (!('learn' in source)) return source;
  const learning = await source.learn(candidate.keyEndorsements ?? []);
  for (const key of learning.added) {
    deps.logger.info('release key trusted', { keyId: key.keyId, endorsedBy: key.endorsement.keyId });
    deps.onKeyEvent('release-key-added', `now trusts release key ${key.keyId}, endorsed by ${key.endorsement.keyId}`);
  }
  for (const refusal of learning.refused) {
    deps.logger.warn('release key refused', { keyId: refusal.keyId, reason: refusal.reason });
    deps.onKeyEvent('release-key-refused', refusal.reason);
  }
  return learning.trusted;
}
