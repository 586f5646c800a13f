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
}
