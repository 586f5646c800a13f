import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A row of `device_certificates`: one client certificate the device CA issued. */
@Entity('device_certificates')
export class DeviceCertificateEntity {
  /** Upper-case hex without leading zeros, as Node's TLS reports a peer's serial. */
  @PrimaryColumn('text')
  serial!: string;

  @Column('text', { name: 'device_id' })
  deviceId!: string;

  @Column('timestamptz', { name: 'issued_at' })
  issuedAt!: Date;

  @Column('timestamptz', { name: 'not_after' })
  notAfter!: Date;

  @Column('timestamptz', { name: 'revoked_at', nullable: true })
  revokedAt!: Date | null;
}
