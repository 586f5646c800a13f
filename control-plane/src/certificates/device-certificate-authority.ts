import { Inject, Injectable, Logger } from '@nestjs/common';
import { isValidDeviceId } from '@flotilla/shared';
import {
  importIssuer,
  issueClientCertificate,
  normalizeSerial,
  x509,
  type CryptoKey,
  type Issuer,
  type KeyAndCertificate,
} from '../tls/x509';
import type { UnitOfWork } from '../database/unit-of-work';
import { CertificateRequestInvalidError, PresentedCertificateRefusedError } from './certificates.errors';
import { csrKeyRefusal, type CsrKeyAlgorithm } from './csr-key-policy';
import { DeviceCertificateRepository } from './device-certificate.repository';
import { RevocationList } from './revocation-list';

export const DEVICE_CA = Symbol('DeviceCa');

export interface IssuedCertificate {
  certificatePem: string;
  serial: string;
  notAfter: Date;
}

const MAX_CSR_CHARS = 16 * 1024;

/**
 * The device CA: issues client certificates from devices' CSRs (the private key never leaves
 * the device; the CSR's own signature proves the device holds it), checks a certificate a
 * device presents when it asks for a renewal, and revokes. Null `DEVICE_CA` (no TLS listeners
 * here, e.g. behind a TLS-terminating proxy) means devices authenticate by password only.
 */
@Injectable()
export class DeviceCertificateAuthority {
  private readonly logger = new Logger('Certificates');
  private issuer: Promise<Issuer> | undefined;

  constructor(
    @Inject(DEVICE_CA) private readonly ca: KeyAndCertificate | null,
    private readonly certificates: DeviceCertificateRepository,
    private readonly revocations: RevocationList,
  ) {}

  get enabled(): boolean {
    return this.ca !== null;
  }

  /** The CSR's public key, after checking its self-signature; throws `csr_invalid`. */
  async requestedKey(csrPem: string): Promise<CryptoKey> {
    if (csrPem.length > MAX_CSR_CHARS) throw new CertificateRequestInvalidError(`longer than ${MAX_CSR_CHARS} characters`);
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(csrPem);
    } catch (e) {
      throw new CertificateRequestInvalidError(`not a PKCS#10 request (${(e as Error).message})`);
    }
    const key = await csr.publicKey.export().catch((e: Error) => {
      throw new CertificateRequestInvalidError(`its public key cannot be used (${e.message})`);
    });
    // Before the signature: an oversized RSA key is refused without the work of checking it.
    const refused = csrKeyRefusal(key.algorithm as CsrKeyAlgorithm);
    if (refused) throw new CertificateRequestInvalidError(refused);
    const valid = await csr.verify().catch(() => false);
    if (!valid) throw new CertificateRequestInvalidError('its signature does not match its public key');
    return key;
  }

  async issue(deviceId: string, publicKey: CryptoKey, validitySeconds: number): Promise<IssuedCertificate> {
    const issued = await this.sign(deviceId, publicKey, validitySeconds);
    await this.certificates.recordIssued(issued.serial, deviceId, issued.notAfter);
    return issued;
  }

  /**
   * A certificate not yet recorded: a registration signs before its transaction (signing is CPU)
   * and records it inside (`record`), so that the device, its certificate and the token's use
   * are written together or not at all. An unrecorded certificate is never handed out.
   */
  async sign(deviceId: string, publicKey: CryptoKey, validitySeconds: number): Promise<IssuedCertificate> {
    const cert = await issueClientCertificate(await this.issuerKey(), deviceId, publicKey, validitySeconds);
    return { certificatePem: cert.toString('pem'), serial: normalizeSerial(cert.serialNumber), notAfter: cert.notAfter };
  }

  record(uow: UnitOfWork, deviceId: string, issued: IssuedCertificate): Promise<void> {
    return this.certificates.recordIssued(issued.serial, deviceId, issued.notAfter, uow);
  }

  /**
   * The device id of a certificate a device presents as proof (renewal): issued by this
   * device CA, within its validity, not revoked, subject a device id. Throws otherwise.
   */
  async verifyPresented(certPem: string, now = new Date()): Promise<{ deviceId: string; publicKeyDer: ArrayBuffer }> {
    const issuer = await this.issuerKey();
    let cert: x509.X509Certificate;
    try {
      cert = new x509.X509Certificate(certPem);
    } catch (e) {
      throw new PresentedCertificateRefusedError(`not a PEM certificate (${(e as Error).message})`);
    }
    const signed =
      cert.issuer === issuer.certificate.subject && (await cert.verify({ publicKey: issuer.certificate, signatureOnly: true }));
    if (!signed) throw new PresentedCertificateRefusedError('not issued by this control plane');
    if (now < cert.notBefore || now > cert.notAfter)
      throw new PresentedCertificateRefusedError(`expired on ${cert.notAfter.toISOString()}`);
    if (this.revocations.has(normalizeSerial(cert.serialNumber))) throw new PresentedCertificateRefusedError('revoked');
    const deviceId = cert.subjectName.getField('CN')[0];
    if (!deviceId || !isValidDeviceId(deviceId)) throw new PresentedCertificateRefusedError('its subject is not a device id');
    return { deviceId, publicKeyDer: cert.publicKey.rawData };
  }

  /** Revokes every certificate of the device here at once (the broker refuses them from now on), then in the database. */
  async revokeDevice(deviceId: string): Promise<number> {
    const serials = await this.certificates.revokeDevice(deviceId);
    this.revocations.add(serials);
    if (serials.length > 0) this.logger.log(`revoked ${serials.length} certificate(s) of ${deviceId}`);
    return serials.length;
  }

  private issuerKey(): Promise<Issuer> {
    if (!this.ca) throw new Error('no device CA: certificates are not issued when TLS is terminated by a proxy');
    return (this.issuer ??= importIssuer(this.ca));
  }
}
