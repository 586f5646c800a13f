import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { AsnConvert } from '@peculiar/asn1-schema';
import { silentLogger } from '../support/logger';
import { brokerUrl } from './credentials';
import { certificateRequest } from './certificate-request';

describe('certificateRequest', () => {
  // Parsed and re-encoded by an independent ASN.1 library (the one the control plane reads requests with).
  it.each([
    ['a short name', 'dev_abc'],
    ['a name whose DER lengths take two bytes', `dev_${'x'.repeat(300)}`],
    ['a name outside ASCII, counted in UTF-8 bytes', 'gerät-ø-设备'],
  ])('is a PKCS#10 request for the key, signed by it, with the subject asked for: %s', (_, name) => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const pem = certificateRequest(privateKey, name);
    expect(pem).toMatch(
      /^-----BEGIN CERTIFICATE REQUEST-----\n([A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END CERTIFICATE REQUEST-----\n$/,
    );
    const der = Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
    const csr = AsnConvert.parse(der, CertificationRequest);
    expect(Buffer.from(AsnConvert.serialize(csr)).equals(der)).toBe(true); // canonical DER, nothing left over
    const info = Buffer.from(AsnConvert.serialize(csr.certificationRequestInfo));
    const spki = Buffer.from(AsnConvert.serialize(csr.certificationRequestInfo.subjectPKInfo));
    expect(csr.certificationRequestInfo.version).toBe(0);
    expect(csr.certificationRequestInfo.attributes).toHaveLength(0);
    expect(csr.signatureAlgorithm.algorithm).toBe('1.2.840.10045.4.3.2');
    expect(csr.signatureAlgorithm.parameters).toBeUndefined();
    expect(spki.equals(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }))).toBe(true);
    expect(verify('sha256', info, createPublicKey(privateKey), Buffer.from(csr.signature))).toBe(true);
    const [[cn]] = csr.certificationRequestInfo.subject as unknown as [[{ type: string; value: { utf8String?: string } }]];
    expect(cn.type).toBe('2.5.4.3');
    expect(cn.value.utf8String).toBe(name);
  });
});

describe('brokerUrl', () => {
  const file = { schema: 1 as const, apiUrl: 'https://cp:8443', token: 't'.repeat(16), releaseKeys: [] };

  it('takes the URL the registration answer names when it is TLS too (the pinned CAs still decide)', () => {
    expect(brokerUrl({ ...file, mqttUrl: 'mqtts://cp:8883' }, 'mqtts://broker.example:8883', silentLogger)).toBe(
      'mqtts://broker.example:8883',
    );
  });

  it('never lowers a TLS provisioning to a plain URL from the network', () => {
    expect(brokerUrl({ ...file, mqttUrl: 'mqtts://cp:8883' }, 'mqtt://cp:1883', silentLogger)).toBe('mqtts://cp:8883');
    expect(brokerUrl({ ...file, mqttUrl: 'mqtts://cp:8883' }, 'ws://cp/mqtt', silentLogger)).toBe('mqtts://cp:8883');
  });

  it('keeps the provisioning file URL when the answer has none', () => {
    expect(brokerUrl({ ...file, mqttUrl: 'mqtt://cp:1883' }, '', silentLogger)).toBe('mqtt://cp:1883');
  });
});
