import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { AssemblySpec, ReleaseSignature } from '@flotilla/shared';
import { Repository } from 'typeorm';
import { ReleaseEntity } from './release.entity';

export interface NewRelease {
  id: string;
  name: string;
  version: string;
  digest: string;
  manifestYaml: string;
  assembly: AssemblySpec;
  signature: ReleaseSignature;
  createdBy: string;
}

export type InsertOutcome = { inserted: true; release: ReleaseEntity } | { inserted: false; existing: ReleaseEntity };

/** The only code that reads or writes `releases`. */
@Injectable()
export class ReleaseRepository {
  constructor(@InjectRepository(ReleaseEntity) private readonly releases: Repository<ReleaseEntity>) {}

  /**
   * Inserts unless (name, version) is taken, in which case it returns the release holding it.
   * ON CONFLICT makes two concurrent uploads of one version safe: exactly one inserts.
   */
  async insertUnlessVersionExists(release: NewRelease): Promise<InsertOutcome> {
    const result = await this.releases.createQueryBuilder().insert().values(release).orIgnore().returning('id').execute();
    if ((result.raw as unknown[]).length > 0) {
      return { inserted: true, release: (await this.releases.findOneBy({ id: release.id }))! };
    }
    const existing = await this.releases.findOneBy({ name: release.name, version: release.version });
    if (!existing) throw new Error(`release ${release.name}@${release.version} conflicted but cannot be found`);
    return { inserted: false, existing };
  }

  findById(id: string): Promise<ReleaseEntity | null> {
    return this.releases.findOneBy({ id });
  }

  /** Backfills the signature of a release published before releases were signed; an existing signature wins. */
  async storeSignatureIfMissing(id: string, signature: ReleaseSignature): Promise<void> {
    await this.releases.createQueryBuilder().update().set({ signature }).where('id = :id AND signature IS NULL', { id }).execute();
  }

  /** Newest first. */
  listAll(): Promise<ReleaseEntity[]> {
    return this.releases.find({ order: { createdAt: 'DESC', id: 'ASC' } });
  }
}
