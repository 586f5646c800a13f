import 'reflect-metadata'; // @peculiar/x509 resolves its ASN.1 providers through tsyringe, which needs it.
import { X509Certificate as NodeX509Certificate, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/**
 * X.509 through @peculiar/x509 on Node's WebCrypto: the control plane makes its certificate
 * authorities and certificates with no openssl binary. Keys are ECDSA P-256 (fast handshakes,
 * small certificates; what AWS IoT and Azure DPS accept for device identities too).
 */
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

export const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface KeyAndCertificate {
  /** PKCS#8 PEM. */
  keyPem: string;
  certPem: string;
}

export interface Issuer {
  certificate: x509.X509Certificate;
  key: CryptoKey;
}

export type SubjectAltName = { type: 'dns' | 'ip'; value: string };

export async function newKeyPair(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
}

/** A self-signed certificate authority that may sign end-entity certificates only (path length 0). */
export async function createCertificateAuthority(commonName: string, validYears: number): Promise<KeyAndCertificate> {
  const keys = await newKeyPair();
  const notBefore = new Date(Date.now() - CLOCK_SKEW_MS);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: newSerial(),
    name: `CN=${commonName}`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + validYears * 365 * 24 * 3600_000),
    keys,
    signingAlgorithm: EC_P256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { keyPem: await exportKeyPem(keys.privateKey), certPem: cert.toString('pem') };
}

/** The control plane's own TLS certificate, for the names devices and operators reach it by. */
export async function issueServerCertificate(issuer: Issuer, names: SubjectAltName[], validDays: number): Promise<KeyAndCertificate> {
  const keys = await newKeyPair();
  const cert = await sign(issuer, {
    subject: `CN=${names.find((n) => n.type === 'dns')?.value ?? 'flotilla'}`,
    publicKey: keys.publicKey,
    validSeconds: validDays * 24 * 3600,
    backdateMs: CLOCK_SKEW_MS,
    extensions: [new x509.SubjectAlternativeNameExtension(names), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth])],
  });
  return { keyPem: await exportKeyPem(keys.privateKey), certPem: cert.toString('pem') };
}

/** A device's client certificate for a public key it proved to hold (its CSR's signature). */
export async function issueClientCertificate(issuer: Issuer, commonName: string, publicKey: CryptoKey, validSeconds: number) {
  return sign(issuer, {
    subject: `CN=${commonName}`,
    publicKey,
    validSeconds,
    // Only the control plane checks a device certificate, by its own clock: no backdating, so
    // the device's renewal at two thirds of the validity falls where the fleet's setting says.
    backdateMs: 0,
    extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
  });
}

/** Backdating a certificate that devices check absorbs a device clock a little behind the control plane's. */
const CLOCK_SKEW_MS = 60_000;

async function sign(
  issuer: Issuer,
  spec: { subject: string; publicKey: CryptoKey; validSeconds: number; backdateMs: number; extensions: x509.Extension[] },
): Promise<x509.X509Certificate> {
  const now = Date.now();
  return x509.X509CertificateGenerator.create({
    serialNumber: newSerial(),
    subject: spec.subject,
    issuer: issuer.certificate.subject,
    notBefore: new Date(now - spec.backdateMs),
    notAfter: new Date(now + spec.validSeconds * 1000),
    publicKey: spec.publicKey,
    signingKey: issuer.key,
    signingAlgorithm: EC_P256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      ...spec.extensions,
      await x509.AuthorityKeyIdentifierExtension.create(issuer.certificate, false),
    ],
  });
}

/** 16 random bytes, top bit clear so the DER integer stays positive (RFC 5280 4.1.2.2). */
function newSerial(): string {
  const bytes = randomBytes(16);
  bytes[0]! &= 0x7f;
  bytes[0]! |= 0x01;
  return bytes.toString('hex');
}

/** Serial numbers as Node's TLS and X509Certificate spell them: upper-case hex without leading zeros. */
export function normalizeSerial(serial: string): string {
  return serial.replace(/^0+/, '').toUpperCase();
}

export async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
}

export async function importIssuer(pair: KeyAndCertificate): Promise<Issuer> {
  const der = pemBody(pair.keyPem);
  const key = await webcrypto.subtle.importKey('pkcs8', der, EC_P256, false, ['sign']);
  return { certificate: new x509.X509Certificate(pair.certPem), key: key as CryptoKey };
}

function pemBody(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

/** Every PEM certificate block in `text`, in order. */
export function splitPemCertificates(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((block) => `${block}\n`) ?? [];
}

/** `AB:CD:…`, the SHA-256 fingerprint as `openssl x509 -fingerprint -sha256` prints it. */
export function fingerprint(certPem: string): string {
  return new NodeX509Certificate(certPem).fingerprint256;
}

export { x509 };
