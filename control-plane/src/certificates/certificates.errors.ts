import { AuthenticationError, InvalidInputError } from '../domain-error';
import { CSR_KEYS_ACCEPTED } from './csr-key-policy';

export class CertificateRequestInvalidError extends InvalidInputError {
  constructor(detail: string) {
    super(
      'csr_invalid',
      `the certificate signing request is unusable: ${detail}; send a PEM PKCS#10 request signed by ${CSR_KEYS_ACCEPTED}`,
    );
  }
}

/** The certificate offered as proof for a renewal is not a live one from this control plane's device CA. */
export class PresentedCertificateRefusedError extends AuthenticationError {
  constructor(detail: string) {
    super(
      'certificate_refused',
      `the presented device certificate is refused: ${detail}; a device whose certificate expired or was revoked must be provisioned again`,
    );
  }
}
