import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ConfigMap, Inventory, Reported } from '@flotilla/shared';

/** A row of `devices`. Stays inside the devices service layer; the API sees `DeviceView`. */
@Entity('devices')
export class DeviceEntity {
  @PrimaryColumn('text')
  id!: string;

  @Column('text')
  name!: string;

  @Column('text', { nullable: true })
  board!: string | null;

  @Column('text', { name: 'password_hash' })
  passwordHash!: string;

  @Column('boolean')
  online!: boolean;

  @Column('timestamptz', { name: 'last_seen_at', nullable: true })
  lastSeenAt!: Date | null;

  @Column('integer', { name: 'desired_rev' })
  desiredRev!: number;

  @Column('uuid', { name: 'desired_release_id', nullable: true })
  desiredReleaseId!: string | null;

  @Column('jsonb', { nullable: true })
  reported!: Reported | null;

  @Column('timestamptz', { name: 'reported_at', nullable: true })
  reportedAt!: Date | null;

  @Column('jsonb', { nullable: true })
  inventory!: Inventory | null;

  @Column('timestamptz', { name: 'inventory_at', nullable: true })
  inventoryAt!: Date | null;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('uuid', { name: 'fleet_id', nullable: true })
  fleetId!: string | null;

  @Column('text', { array: true })
  tags!: string[];

  @Column('uuid', { name: 'pinned_release_id', nullable: true })
  pinnedReleaseId!: string | null;

  /** The device's own configuration overrides, on top of its fleet's. */
  @Column('jsonb')
  config!: ConfigMap;

  @Column('timestamptz', { name: 'decommissioned_at', nullable: true })
  decommissionedAt!: Date | null;
}
