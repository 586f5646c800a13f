import { webcrypto } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { DeviceCertificateRequest, DeviceCertificateResponse } from '@flotilla/shared';
import { CertificateRequestInvalidError, PresentedCertificateRefusedError } from '../certificates/certificates.errors';
import { DeviceCertificateAuthority, type IssuedCertificate } from '../certificates/device-certificate-authority';
import { DeviceLinkService } from '../devices/device-link.service';
import { DevicesService } from '../devices/devices.service';
import { AuthenticationError, UnsupportedError } from '../domain-error';
import { FleetsService } from '../fleets/fleets.service';
import type { UnitOfWork } from '../database/unit-of-work';
import type { CryptoKey } from '../tls/x509';

/**
 * Client certificates for devices: at registration (the CSR beside the token), on renewal
 * (proof: the current certificate, for the same key), and for a password device moving to a
 * certificate (proof: its password). The validity is the device's fleet's.
 */
@Injectable()
export class DeviceCertificatesService {
  constructor(
    private readonly ca: DeviceCertificateAuthority,
    private readonly devices: DevicesService,
    private readonly link: DeviceLinkService,
    private readonly fleets: FleetsService,
  ) {}

  /** Whether registrations get certificates (the broker can check them: it terminates TLS itself). */
  get enabled(): boolean {
    return this.ca.enabled;
  }

  /** The key a registration's CSR asks a certificate for; checked before the token's use is taken. */
  requestedKey(csrPem: string): Promise<CryptoKey> {
    return this.ca.requestedKey(csrPem);
  }

  /** Signed before the registration's transaction, recorded inside it (`recordAtRegistration`). */
  async signAtRegistration(deviceId: string, fleetId: string | null, key: CryptoKey): Promise<IssuedCertificate> {
    return this.ca.sign(deviceId, key, await this.fleets.certificateValiditySeconds(fleetId));
  }

  recordAtRegistration(uow: UnitOfWork, deviceId: string, issued: IssuedCertificate): Promise<void> {
    return this.ca.record(uow, deviceId, issued);
  }

  async reissue(request: DeviceCertificateRequest): Promise<DeviceCertificateResponse> {
    if (!this.ca.enabled) {
      throw new UnsupportedError(
        'certificates_unavailable',
        'this control plane issues no device certificates (TLS is terminated by a proxy)',
      );
    }
    const key = await this.ca.requestedKey(request.csr);
    const deviceId = await this.provenDevice(request.proof, key);
    const device = await this.devices.get(deviceId);
    if (device.decommissionedAt) throw new PresentedCertificateRefusedError('the device is decommissioned');
    const issued = await this.ca.issue(deviceId, key, await this.fleets.certificateValiditySeconds(device.fleetId));
    return { deviceId, certificate: issued.certificatePem, notAfter: issued.notAfter.toISOString() };
  }

  private async provenDevice(proof: DeviceCertificateRequest['proof'], key: CryptoKey): Promise<string> {
    if (proof.kind === 'password') {
      if ((await this.link.checkCredentials(proof.deviceId, proof.password)) !== 'accepted') {
        throw new AuthenticationError('device_credentials_invalid', 'unknown device or wrong password');
      }
      return proof.deviceId;
    }
    const presented = await this.ca.verifyPresented(proof.certificate);
    // The CSR's signature proves possession of its key; it must be the certificate's key, or
    // anyone who saw a certificate (it is no secret) could get one for a key of their own.
    const requested = Buffer.from(await webcrypto.subtle.exportKey('spki', key));
    if (!requested.equals(Buffer.from(presented.publicKeyDer))) {
      throw new CertificateRequestInvalidError("it is not for the presented certificate's key");
    }
    return presented.deviceId;
  }
}
