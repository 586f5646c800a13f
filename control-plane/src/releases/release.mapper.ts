import type { Release, ReleaseView } from '@flotilla/shared';
import type { ReleaseEntity } from './release.entity';

export function toReleaseView(row: ReleaseEntity): ReleaseView {
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    digest: row.digest,
    createdAt: row.createdAt.toISOString(),
    assembly: row.assembly,
  };
}

/** The release as a device receives it inside `desired`. */
export function toProtocolRelease(row: ReleaseEntity): Release {
  return { id: row.id, digest: row.digest, assembly: row.assembly };
}
