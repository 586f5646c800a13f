import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { Attributes, CertificationRequest, CertificationRequestInfo } from '@peculiar/asn1-csr';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  Name,
  RelativeDistinguishedName,
  SubjectPublicKeyInfo,
} from '@peculiar/asn1-x509';
import { readFileIfExists, writeFileAtomic } from '../state/atomic-file';

/** The device's private key (PKCS#8 PEM, mode 0600): made on the device, never sent anywhere. */
export const DEVICE_KEY_FILE = 'device-key.pem';
/** The client certificate the control plane's device CA issued for that key. */
export const DEVICE_CERT_FILE = 'device-cert.pem';

const OID_COMMON_NAME = '2.5.4.3';
const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

export interface DeviceKey {
  key: KeyObject;
  pem: string;
}

/** The stored key, or a new ECDSA P-256 key stored first (so that a retried registration asks for the same key). */
export async function loadOrCreateDeviceKey(stateDir: string): Promise<DeviceKey> {
  const path = join(stateDir, DEVICE_KEY_FILE);
  const stored = await readFileIfExists(path);
  if (stored !== undefined) return { key: createPrivateKey(stored), pem: stored };
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  await writeFileAtomic(path, pem, 0o600);
  return { key: privateKey, pem };
}

/** A PKCS#10 request (RFC 2986) for the key, signed by it: the signature proves the device holds the key. */
export function certificateRequest(key: KeyObject, commonName: string): string {
  const spki = AsnConvert.parse(createPublicKey(key).export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo);
  const cn = new AttributeTypeAndValue({ type: OID_COMMON_NAME, value: new AttributeValue({ utf8String: commonName }) });
  const info = new CertificationRequestInfo({
    version: 0,
    subject: new Name([new RelativeDistinguishedName([cn])]),
    subjectPKInfo: spki,
    attributes: new Attributes(),
  });
  const signature = sign('sha256', Buffer.from(AsnConvert.serialize(info)), key);
  const request = new CertificationRequest({
    certificationRequestInfo: info,
    signatureAlgorithm: new AlgorithmIdentifier({ algorithm: OID_ECDSA_WITH_SHA256 }),
    signature: new Uint8Array(signature).buffer,
  });
  return pem('CERTIFICATE REQUEST', Buffer.from(AsnConvert.serialize(request)));
}

function pem(label: string, der: Buffer): string {
  return `-----BEGIN ${label}-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

/**
 * When to ask for a new certificate: at two thirds of its validity, so that a third is left
 * for retries (a device offline for a while still renews in time).
 */
export function renewalTime(certPem: string): Date {
  const cert = new X509Certificate(certPem);
  const notBefore = new Date(cert.validFrom).getTime();
  const notAfter = new Date(cert.validTo).getTime();
  return new Date(notAfter - (notAfter - notBefore) / 3);
}

export function certificateExpiry(certPem: string): Date {
  return new Date(new X509Certificate(certPem).validTo);
}
