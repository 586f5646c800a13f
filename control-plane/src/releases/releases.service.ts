import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { contentDigest, parseAssemblyYaml, type Release, type ReleaseView } from '@flotilla/shared';
import { isUuid } from '../ids';
import { toProtocolRelease, toReleaseView } from './release.mapper';
import { ReleaseRepository } from './release.repository';
import { InvalidManifestError, ReleaseNotFoundError, ReleaseVersionConflictError } from './releases.errors';

export type PublishOutcome = { status: 'created'; release: ReleaseView } | { status: 'already-published'; release: ReleaseView };

@Injectable()
export class ReleasesService {
  constructor(private readonly releases: ReleaseRepository) {}

  /**
   * Releases are immutable: a name and version names one content forever. Uploading the
   * same content again is harmless (CI retries), different content under it is refused.
   */
  async publish(manifestYaml: string): Promise<PublishOutcome> {
    const parsed = parseAssemblyYaml(manifestYaml);
    if (!parsed.ok) throw new InvalidManifestError(parsed.issues);
    const { spec } = parsed;
    const digest = contentDigest(spec);
    const outcome = await this.releases.insertUnlessVersionExists({
      id: randomUUID(),
      name: spec.name,
      version: spec.version,
      digest,
      manifestYaml,
      assembly: spec,
    });
    if (outcome.inserted) return { status: 'created', release: toReleaseView(outcome.release) };
    if (outcome.existing.digest !== digest) throw new ReleaseVersionConflictError(spec.name, spec.version);
    return { status: 'already-published', release: toReleaseView(outcome.existing) };
  }

  async list(): Promise<ReleaseView[]> {
    return (await this.releases.listAll()).map(toReleaseView);
  }

  async get(id: string): Promise<ReleaseView> {
    const row = isUuid(id) ? await this.releases.findById(id) : null;
    if (!row) throw new ReleaseNotFoundError(id);
    return toReleaseView(row);
  }

  /** The release in the form `desired` carries; throws when it does not exist. */
  async getForDelivery(id: string): Promise<Release> {
    const row = isUuid(id) ? await this.releases.findById(id) : null;
    if (!row) throw new ReleaseNotFoundError(id);
    return toProtocolRelease(row);
  }
}
