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
  /** The `Idempotency-Key` it is created under, and the digest of that request. */
  idempotencyKey: string | null;
  requestDigest: string | null;
}

export interface ReleasePosition {
  createdAt: string;
  id: string;
}

export type InsertOutcome = { inserted: true; release: ReleaseEntity } | { inserted: false; existing: ReleaseEntity };

/** The only code that reads or writes `releases`. */
@Injectable()
export class ReleaseRepository {
  constructor(@InjectRepository(ReleaseEntity) private readonly releases: Repository<ReleaseEntity>) {}

  /**
   * Inserts unless (name, version) is taken, in which case it returns the release holding it.
   * ON CONFLICT makes two concurrent uploads of one version safe: exactly one inserts. Only
   * that conflict is absorbed: an idempotency key already taken raises the unique violation
   * `createIdempotently` answers with the key's release.
   */
  async insertUnlessVersionExists(release: NewRelease): Promise<InsertOutcome> {
    const inserted = (await this.releases.query(
      `INSERT INTO releases (id, name, version, digest, manifest_yaml, assembly, signature, created_by, idempotency_key, request_digest)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9, $10)
       ON CONFLICT (name, version) DO NOTHING
       RETURNING id`,
      [
        release.id,
        release.name,
        release.version,
        release.digest,
        release.manifestYaml,
        JSON.stringify(release.assembly),
        JSON.stringify(release.signature),
        release.createdBy,
        release.idempotencyKey,
        release.requestDigest,
      ],
    )) as unknown[];
    if (inserted.length > 0) {
      return { inserted: true, release: (await this.releases.findOneBy({ id: release.id }))! };
    }
    const existing = await this.releases.findOneBy({ name: release.name, version: release.version });
    if (!existing) throw new Error(`release ${release.name}@${release.version} conflicted but cannot be found`);
    return { inserted: false, existing };
  }

  findById(id: string): Promise<ReleaseEntity | null> {
    return this.releases.findOneBy({ id });
  }

  async findByIdempotencyKey(key: string): Promise<{ id: string; requestDigest: string | null } | undefined> {
    const rows = (await this.releases.query('SELECT id, request_digest FROM releases WHERE idempotency_key = $1', [key])) as {
      id: string;
      request_digest: string | null;
    }[];
    return rows[0] ? { id: rows[0].id, requestDigest: rows[0].request_digest } : undefined;
  }

  /**
   * Records the key on a release an earlier request without a key published, so the key is
   * bound from now on; a release created under another key keeps that one.
   */
  async adoptIdempotencyKey(id: string, key: string, requestDigest: string): Promise<void> {
    await this.releases.query('UPDATE releases SET idempotency_key = $2, request_digest = $3 WHERE id = $1 AND idempotency_key IS NULL', [
      id,
      key,
      requestDigest,
    ]);
  }

  /** Backfills the signature of a release published before releases were signed; an existing signature wins. */
  async storeSignatureIfMissing(id: string, signature: ReleaseSignature): Promise<void> {
    await this.releases.createQueryBuilder().update().set({ signature }).where('id = :id AND signature IS NULL', { id }).execute();
  }

  /** Newest first. */
  /**
   * Newest first, keyset-paged on (created_at, id). The position carries created_at to the
   * microsecond as text: a JavaScript Date would round it to the millisecond and skip rows.
   */
  async list(
    filter: { name?: string },
    limit: number,
    after?: ReleasePosition,
  ): Promise<{ release: ReleaseEntity; position: ReleasePosition }[]> {
    const q = this.releases
      .createQueryBuilder('r')
      .addSelect(`to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`, 'cursor_at')
      .orderBy('r.created_at', 'DESC')
      .addOrderBy('r.id', 'DESC')
      .limit(limit);
    if (filter.name) q.andWhere('r.name = :name', { name: filter.name });
    if (after) q.andWhere('(r.created_at, r.id) < (CAST(:at AS timestamptz), :id)', { at: after.createdAt, id: after.id });
    const { entities, raw } = await q.getRawAndEntities<{ cursor_at: string; r_id: string }>();
    const at = new Map(raw.map((row) => [row.r_id, row.cursor_at]));
    return entities.map((release) => ({ release, position: { createdAt: at.get(release.id)!, id: release.id } }));
  }
}
