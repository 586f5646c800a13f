import { AuthenticationError, InvalidInputError } from '../domain-error';

export class CertificateRequestInvalidError extends InvalidInputError {
  constructor(detail: string) {
    super(
      'csr_invalid',
      `the certificate signing request is unusable: ${detail}; send a PEM PKCS#10 request signed by an ECDSA P-256 or RSA key`,
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
