import { CONNACK } from './access-policy';
import { certificateConnectDecision, type PeerCertificate } from './peer-identity';

const cert = (overrides: Partial<PeerCertificate> = {}): PeerCertificate => ({
  commonName: 'dev_a',
  serial: 'ABC123',
  verified: true,
  verifyError: undefined,
  ...overrides,
});
const noneRevoked = () => false;

describe('certificateConnectDecision', () => {
  it('accepts a verified, unrevoked certificate whose subject is the client id', () => {
    expect(certificateConnectDecision('dev_a', cert(), noneRevoked)).toEqual({ accepted: true, deviceId: 'dev_a' });
  });

  it('refuses a certificate the handshake did not verify, saying why', () => {
    const verdict = certificateConnectDecision('dev_a', cert({ verified: false, verifyError: 'CERT_HAS_EXPIRED' }), noneRevoked);
    expect(verdict).toEqual({
      accepted: false,
      returnCode: CONNACK.NOT_AUTHORIZED,
      code: 'certificate-unverified',
      reason: expect.stringContaining('CERT_HAS_EXPIRED'),
    });
  });

  it('refuses a revoked serial', () => {
    const verdict = certificateConnectDecision('dev_a', cert(), (serial) => serial === 'ABC123');
    expect(verdict).toMatchObject({ accepted: false, returnCode: CONNACK.NOT_AUTHORIZED, code: 'certificate-revoked' });
  });

  it("refuses another device's certificate, and one without a subject", () => {
    expect(certificateConnectDecision('dev_b', cert(), noneRevoked)).toMatchObject({
      accepted: false,
      returnCode: CONNACK.IDENTIFIER_REJECTED,
    });
    expect(certificateConnectDecision('dev_a', cert({ commonName: undefined }), noneRevoked)).toMatchObject({ accepted: false });
  });
});
