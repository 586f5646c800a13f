import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ConfigMap, WindowSchedule } from '@flotilla/shared';

@Entity('fleets')
export class FleetEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('text')
  name!: string;

  @Column('uuid', { name: 'target_release_id', nullable: true })
  targetReleaseId!: string | null;

  @Column('text', { array: true })
  boards!: string[];

  @Column('jsonb')
  config!: ConfigMap;

  /** Validity of the client certificates issued to the fleet's devices. */
  @Column('integer', { name: 'certificate_validity_seconds' })
  certificateValiditySeconds!: number;

  @Column('integer', { name: 'lock_max_defer_seconds', nullable: true })
  lockMaxDeferSeconds!: number | null;

  @Column('jsonb', { name: 'update_windows', nullable: true })
  windows!: WindowSchedule | null;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;
}
