import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Device client certificates: every one issued (serial, device, expiry) so that decommissioning
 * can revoke them all, and the broker's in-memory revocation set can be rebuilt at start from
 * the revoked ones that have not expired yet. Fleets choose how long their devices' certificates
 * live (default 90 days).
 */
export class DeviceCertificates1764500000000 implements MigrationInterface {
  name = 'DeviceCertificates1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE device_certificates (
      serial text PRIMARY KEY,
      device_id text NOT NULL REFERENCES devices(id),
      issued_at timestamptz NOT NULL DEFAULT now(),
      not_after timestamptz NOT NULL,
      revoked_at timestamptz
    )`);
    await q.query('CREATE INDEX device_certificates_device_idx ON device_certificates (device_id)');
    await q.query('CREATE INDEX device_certificates_revoked_idx ON device_certificates (revoked_at) WHERE revoked_at IS NOT NULL');
    await q.query('ALTER TABLE fleets ADD COLUMN certificate_validity_seconds integer NOT NULL DEFAULT 7776000');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE fleets DROP COLUMN certificate_validity_seconds');
    await q.query('DROP TABLE device_certificates');
  }
}
