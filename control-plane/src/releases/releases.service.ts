import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  componentRefs,
  contentDigest,
  loadYaml,
  parseAssembly,
  registryAuthFor,
  type Page,
  type PageQuery,
  type Release,
  type ReleaseDiff,
  type ReleaseListQuery,
  type ReleaseSignature,
  type ReleaseView,
} from '@flotilla/shared';
import { decodeCursor, encodeCursor } from '../http/cursor';
import { createIdempotently, requestDigest } from '../http/idempotency';
import { isUuid } from '../ids';
import { LibraryService } from '../library/library.service';
import { RegistriesService } from '../registries/registries.service';
import { SigningService } from '../signing/signing.service';
import { pinImages } from './image-pinning';
import { registryTagResolver } from './registry-tags';
import { diffAssemblies } from './release-diff';
import type { ReleaseEntity } from './release.entity';
import { toProtocolRelease, toReleaseView } from './release.mapper';
import { ReleaseRepository } from './release.repository';
import { InvalidManifestError, ReleaseNotFoundError, ReleaseVersionConflictError, UnresolvableImageError } from './releases.errors';

export type PublishOutcome = { status: 'created' | 'already-published' | 'replayed'; release: ReleaseView };

type SignedRelease = ReleaseEntity & { signature: ReleaseSignature };

@Injectable()
export class ReleasesService {
  constructor(
    private readonly releases: ReleaseRepository,
    private readonly library: LibraryService,
    private readonly signing: SigningService,
    private readonly registries: RegistriesService,
  ) {}

  /**
   * Releases are immutable: a name and version names one content forever. Uploading the
   * same content again is harmless (CI retries), different content under it is refused.
   * Library references are resolved now, so the release holds the whole assembly; images given
   * by tag are pinned to the digest their registry serves now (with its stored login), and the
   * release is signed, digests included, with the current key before it is stored. With an idempotency key, the
   * same upload again answers the release it made and another upload under the key is refused.
   */
  publish(manifestYaml: string, createdBy = 'operator', idempotencyKey?: string): Promise<PublishOutcome> {
    const digest = requestDigest(manifestYaml);
    return createIdempotently({
      key: idempotencyKey,
      digest,
      kind: 'release',
      findByKey: (key) => this.releases.findByIdempotencyKey(key),
      replay: async (id) => ({ status: 'replayed', release: await this.get(id) }),
      create: () => this.publishNew(manifestYaml, createdBy, idempotencyKey ? { key: idempotencyKey, digest } : undefined),
    });
  }

  private async publishNew(
    manifestYaml: string,
    createdBy: string,
    idempotency?: { key: string; digest: string },
  ): Promise<PublishOutcome> {
    const loaded = loadYaml(manifestYaml);
    if (!loaded.ok) throw new InvalidManifestError(loaded.issues);
    const refs = componentRefs(loaded.value);
    const parsed = parseAssembly(loaded.value, refs.length > 0 ? { components: await this.library.lookupFor(refs) } : {});
    if (!parsed.ok) throw new InvalidManifestError(parsed.issues);
    const logins = await this.registries.controlPlaneAccessFor({ assembly: parsed.spec });
    const pinned = await pinImages(parsed.spec, registryTagResolver({ loginFor: (ref) => registryAuthFor(ref.image, logins) }));
    if (!pinned.ok) throw new UnresolvableImageError(pinned.issues);
    const { spec } = pinned;
    const digest = contentDigest(spec);
    const id = randomUUID();
    const outcome = await this.releases.insertUnlessVersionExists({
      id,
      name: spec.name,
      version: spec.version,
      digest,
      manifestYaml,
      assembly: spec,
      signature: this.signing.sign({ id, digest, assembly: spec }),
      createdBy,
      idempotencyKey: idempotency?.key ?? null,
      requestDigest: idempotency?.digest ?? null,
    });
    if (outcome.inserted) return { status: 'created', release: toReleaseView(await this.signed(outcome.release)) };
    if (outcome.existing.digest !== digest) throw new ReleaseVersionConflictError(spec.name, spec.version);
    if (idempotency) await this.releases.adoptIdempotencyKey(outcome.existing.id, idempotency.key, idempotency.digest);
    return { status: 'already-published', release: toReleaseView(await this.signed(outcome.existing)) };
  }

  async list(filter: ReleaseListQuery, page: PageQuery): Promise<Page<ReleaseView>> {
    const position = decodeCursor(page.cursor, ['timestamp', 'uuid']);
    const rows = await this.releases.list(filter, page.limit + 1, position && { createdAt: String(position[0]), id: String(position[1]) });
    const more = rows.length > page.limit;
    const shown = more ? rows.slice(0, page.limit) : rows;
    const last = shown.at(-1);
    return {
      items: await Promise.all(shown.map(async (r) => toReleaseView(await this.signed(r.release)))),
      nextCursor: more && last ? encodeCursor([last.position.createdAt, last.position.id]) : null,
    };
  }

  async get(id: string): Promise<ReleaseView> {
    return toReleaseView(await this.find(id));
  }

  /** The release in the form `desired` carries; throws when it does not exist. */
  /**
   * As devices get it: signed by the current key. A device follows the key chain only as far as
   * the horizon, so a release signed by an older key is signed again (not stored: ed25519 is
   * deterministic, and the stored signature stays the record of who signed it first).
   */
  async getForDelivery(id: string): Promise<Release> {
    return this.signing.resignForDelivery(toProtocolRelease(await this.find(id)));
  }

  /** From `id` to `otherId`: what a device running `id` would change to run `otherId`. */
  async diff(id: string, otherId: string): Promise<ReleaseDiff> {
    const [from, to] = await Promise.all([this.find(id), this.find(otherId)]);
    return {
      from: { id: from.id, name: from.name, version: from.version },
      to: { id: to.id, name: to.name, version: to.version },
      ...diffAssemblies(from.assembly, to.assembly),
    };
  }

  private async find(id: string): Promise<SignedRelease> {
    const row = isUuid(id) ? await this.releases.findById(id) : null;
    if (!row) throw new ReleaseNotFoundError(id);
    return this.signed(row);
  }

  /** Releases stored before signing existed are signed with the current key on first use. */
  private async signed(row: ReleaseEntity): Promise<SignedRelease> {
    if (row.signature) return row as SignedRelease;
    const signature = this.signing.sign({ id: row.id, digest: row.digest, assembly: row.assembly });
    await this.releases.storeSignatureIfMissing(row.id, signature);
    const stored = await this.releases.findById(row.id);
    return Object.assign(row, { signature: stored?.signature ?? signature });
  }
}
