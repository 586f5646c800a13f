import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import { parse } from 'yaml';
import { LibraryService } from './library.service';
import { lookupDigestOverHttp, parseImageTag, type DigestLookup } from './registry-digest';

export type SeedOutcome =
  { component: string; status: 'created' | 'already-published' } | { component: string; status: 'skipped'; reason: string };

/**
 * Puts the repository's own components (`components/<name>/component.yaml`, origin's parts)
 * into the library on start. Their manifests name an image by tag; the library only takes
 * images pinned by digest, so each tag is resolved against its registry first. Seeding is
 * idempotent (an identical manifest is "already-published") and never fails the start: a
 * registry that is down or lacks the image only skips that component, with the reason logged.
 */
@Injectable()
export class ComponentSeeder {
  private readonly logger = new Logger('Library');

  constructor(private readonly library: LibraryService) {}

  async seed(componentsDir: string, lookupDigest: DigestLookup = lookupDigestOverHttp): Promise<SeedOutcome[]> {
    const names = await readdir(componentsDir, { withFileTypes: true }).then(
      (entries) =>
        entries
          .filter((e) => e.isDirectory())
          .map((e) => e.name)
          .sort(),
      () => [] as string[],
    );
    const outcomes: SeedOutcome[] = [];
    for (const name of names) {
      const outcome = await this.seedOne(name, join(componentsDir, name, 'component.yaml'), lookupDigest);
      if (outcome.status === 'skipped') this.logger.warn(`component ${outcome.component} not seeded: ${outcome.reason}`);
      outcomes.push(outcome);
    }
    return outcomes;
  }

  private async seedOne(name: string, file: string, lookupDigest: DigestLookup): Promise<SeedOutcome> {
    let manifest: Record<string, unknown>;
    try {
      manifest = parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      return { component: name, status: 'skipped', reason: `cannot read ${file}: ${(e as Error).message}` };
    }
    const image = typeof manifest.image === 'string' ? manifest.image : '';
    const tag = parseImageTag(image);
    if (!tag) return { component: name, status: 'skipped', reason: `image "${image}" is not REGISTRY/REPO:TAG` };
    let digest: string;
    try {
      digest = await lookupDigest(tag);
    } catch (e) {
      return {
        component: name,
        status: 'skipped',
        reason: `${(e as Error).message}; build and push it (test/setup/build-origin-images.sh), then restart`,
      };
    }
    try {
      const { status } = await this.library.add({ ...manifest, image: `${tag.registry}/${tag.repository}@${digest}` }, 'seed');
      return { component: `${name}@${String(manifest.version)}`, status };
    } catch (e) {
      return { component: name, status: 'skipped', reason: (e as Error).message };
    }
  }
}
