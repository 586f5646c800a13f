import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { managerOf, type UnitOfWork } from '../database/unit-of-work';
import { DeviceCertificateEntity } from './device-certificate.entity';

/** The only code that reads or writes `device_certificates`. */
@Injectable()
export class DeviceCertificateRepository {
  constructor(@InjectRepository(DeviceCertificateEntity) private readonly certificates: Repository<DeviceCertificateEntity>) {}

  /** Inside `uow` when given (a registration's transaction). */
  async recordIssued(serial: string, deviceId: string, notAfter: Date, uow?: UnitOfWork): Promise<void> {
    const row = { serial, deviceId, notAfter, issuedAt: new Date(), revokedAt: null };
    await (uow ? managerOf(uow).insert(DeviceCertificateEntity, row) : this.certificates.insert(row));
  }

  /** Revokes every unexpired certificate of the device; answers the serials revoked now. */
  async revokeDevice(deviceId: string): Promise<string[]> {
    const [rows] = (await this.certificates.query(
      `UPDATE device_certificates SET revoked_at = now()
        WHERE device_id = $1 AND revoked_at IS NULL AND not_after > now() RETURNING serial`,
      [deviceId],
    )) as [{ serial: string }[], number];
    return rows.map((r) => r.serial);
  }

  /**
   * Revoked certificates that would still verify (not expired), revoked after `since` when given.
   * Expired ones need no entry: the TLS handshake already refuses them.
   */
  async findRevokedUnexpired(since?: Date): Promise<{ serial: string; revokedAt: Date }[]> {
    const rows = (await this.certificates.query(
      `SELECT serial, revoked_at FROM device_certificates
        WHERE revoked_at IS NOT NULL AND not_after > now() AND ($1::timestamptz IS NULL OR revoked_at >= $1::timestamptz)`,
      [since ?? null],
    )) as { serial: string; revoked_at: Date }[];
    return rows.map((r) => ({ serial: r.serial, revokedAt: r.revoked_at }));
  }
}
