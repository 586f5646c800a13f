import type { Release, ReleaseSignature, ReleaseView } from '@flotilla/shared';
import type { ReleaseEntity } from './release.entity';

/** `row` must be signed (the service signs unsigned legacy rows before mapping). */
export function toReleaseView(row: ReleaseEntity & { signature: ReleaseSignature }): ReleaseView {
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    digest: row.digest,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
    assembly: row.assembly,
    signature: row.signature,
  };
}

/** The release as a device receives it inside `desired`. */
export function toProtocolRelease(row: ReleaseEntity & { signature: ReleaseSignature }): Release {
  return { id: row.id, digest: row.digest, assembly: row.assembly, signature: row.signature };
}
