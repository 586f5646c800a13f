import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { AssemblySpec, ReleaseSignature } from '@flotilla/shared';

/** An immutable release of an assembly: the manifest as uploaded and its normalized form. */
@Entity('releases')
export class ReleaseEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('text')
  name!: string;

  @Column('text')
  version!: string;

  /** `contentDigest(assembly)`: identifies the content, whatever the YAML's formatting. */
  @Column('text')
  digest!: string;

  @Column('text', { name: 'manifest_yaml' })
  manifestYaml!: string;

  @Column('jsonb')
  assembly!: AssemblySpec;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  /** Null only for releases published before signing existed; signed on first delivery. */
  @Column('jsonb', { nullable: true })
  signature!: ReleaseSignature | null;

  @Column('text', { name: 'created_by' })
  createdBy!: string;
}
