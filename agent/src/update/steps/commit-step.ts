import type { ContainerRuntime } from '../../runtime/container-runtime';
import type { Logger } from '../../support/logger';
import { imagesToCollect } from '../gc';
import type { ImageLedger } from '../image-ledger';
import type { Slot } from '../machine';
import { imagesOf } from '../slots';

export interface CommitDeps {
  runtime: ContainerRuntime;
  logger: Logger;
  ledger: Pick<ImageLedger, 'read' | 'write'>;
}

/** COMMIT: the images only the old slot (or a rolled-back candidate) used go; the new active slot's stay. */
export async function collectOldImages(deps: CommitDeps, candidate: Slot): Promise<void> {
  const keep = imagesOf(candidate);
  const remaining = [...keep];
  for (const image of imagesToCollect(await deps.ledger.read(), keep)) {
    const outcome = await deps.runtime.removeImage(image);
    if (outcome === 'in-use') remaining.push(image);
    deps.logger.info('image collected', { image, outcome });
  }
  await deps.ledger.write(remaining);
}
