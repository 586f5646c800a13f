import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { AsnConvert } from '@peculiar/asn1-schema';
import { silentLogger } from '../support/logger';
import { brokerUrl } from './credentials';
import { certificateRequest } from './certificate-request';

describe('certificateRequest', () => {
  it('is a PKCS#10 request for the key, signed by it, with the subject asked for', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const pem = certificateRequest(privateKey, 'dev_abc');
    const der = Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
    const csr = AsnConvert.parse(der, CertificationRequest);
    const info = Buffer.from(AsnConvert.serialize(csr.certificationRequestInfo));
    const spki = Buffer.from(AsnConvert.serialize(csr.certificationRequestInfo.subjectPKInfo));
    expect(spki.equals(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }))).toBe(true);
    expect(verify('sha256', info, createPublicKey(privateKey), Buffer.from(csr.signature))).toBe(true);
    expect(csr.certificationRequestInfo.subject[0]![0]!.value.toString()).toBe('dev_abc');
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
