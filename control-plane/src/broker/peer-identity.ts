import type { TLSSocket } from 'node:tls';
import { normalizeSerial } from '../tls/x509';
import { CONNACK } from './access-policy';

/** What the TLS handshake told about a client certificate, if the client sent one. */
export interface PeerCertificate {
  /** Subject CN: a device id for certificates of the device CA. */
  commonName: string | undefined;
  serial: string;
  /** Chained to the device CA and within its validity (Node's verification during the handshake). */
  verified: boolean;
  /** Why not, as OpenSSL says it (e.g. CERT_HAS_EXPIRED). */
  verifyError: string | undefined;
}

/** How a client reached the broker: over which listener, and with which certificate. */
export interface Peer {
  transport: 'plain' | 'tls' | 'wss';
  certificate: PeerCertificate | undefined;
}

export function peerCertificateOf(socket: TLSSocket): PeerCertificate | undefined {
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.serialNumber) return undefined;
  const cn = cert.subject?.CN;
  return {
    commonName: typeof cn === 'string' ? cn : undefined,
    serial: normalizeSerial(cert.serialNumber),
    verified: socket.authorized,
    verifyError: socket.authorizationError ? String(socket.authorizationError) : undefined,
  };
}

export type CertificateConnectDecision =
  | { accepted: true; deviceId: string }
  | {
      accepted: false;
      returnCode: number;
      code: 'certificate-unverified' | 'certificate-revoked' | 'certificate-mismatch';
      reason: string;
    };

/**
 * A client that presented a certificate is that certificate's device and nothing else: the
 * certificate must chain to the device CA (checked in the handshake), be unrevoked, and name
 * the client id [MQTT-3.1.4-2: a reused client id takes over a session, so it must be bound
 * to the identity]. A password cannot rescue a refused certificate.
 */
export function certificateConnectDecision(
  clientId: string,
  certificate: PeerCertificate,
  isRevoked: (serial: string) => boolean,
): CertificateConnectDecision {
  if (!certificate.verified) {
    return {
      accepted: false,
      returnCode: CONNACK.NOT_AUTHORIZED,
      code: 'certificate-unverified',
      reason: `certificate not accepted (${certificate.verifyError ?? 'unverified'})`,
    };
  }
  if (isRevoked(certificate.serial)) {
    return {
      accepted: false,
      returnCode: CONNACK.NOT_AUTHORIZED,
      code: 'certificate-revoked',
      reason: `certificate ${certificate.serial} is revoked`,
    };
  }
  if (certificate.commonName !== clientId) {
    return {
      accepted: false,
      returnCode: CONNACK.IDENTIFIER_REJECTED,
      code: 'certificate-mismatch',
      reason: `client id "${clientId}" is not the certificate's device "${certificate.commonName ?? ''}"`,
    };
  }
  return { accepted: true, deviceId: clientId };
}
