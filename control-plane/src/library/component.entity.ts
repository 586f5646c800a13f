import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ComponentManifest } from '@flotilla/shared';

/** A library component version; immutable once stored. */
@Entity('components')
export class ComponentEntity {
  @PrimaryColumn('text')
  name!: string;

  @PrimaryColumn('text')
  version!: string;

  @Column('text')
  image!: string;

  @Column('text', { nullable: true })
  description!: string | null;

  /** The validated manifest, defaults applied. */
  @Column('jsonb')
  manifest!: ComponentManifest;

  /** `contentDigest(manifest)`: tells an identical re-upload from a conflicting one. */
  @Column('text')
  digest!: string;

  @Column('text', { name: 'created_by' })
  createdBy!: string;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;
}
