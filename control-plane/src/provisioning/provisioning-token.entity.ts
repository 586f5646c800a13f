import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A registration token; only its hash is kept. */
@Entity('provisioning_tokens')
export class ProvisioningTokenEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('text', { name: 'token_hash' })
  tokenHash!: string;

  @Column('integer', { name: 'max_uses' })
  maxUses!: number;

  @Column('integer')
  uses!: number;

  @Column('timestamptz', { name: 'expires_at' })
  expiresAt!: Date;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  /** A device registered with the token joins this fleet. */
  @Column('uuid', { name: 'fleet_id', nullable: true })
  fleetId!: string | null;

  /** Made by an admin key: devices registered with it may receive registry logins granted to their fleet. */
  @Column('boolean', { name: 'created_by_admin' })
  createdByAdmin!: boolean;

  @Column('timestamptz', { name: 'revoked_at', nullable: true })
  revokedAt!: Date | null;
}
