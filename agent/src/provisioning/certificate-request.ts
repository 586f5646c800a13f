import { createPublicKey, sign, type KeyObject } from 'node:crypto';

// The request is written as DER by hand: its shape is fixed (one subject name, no attributes,
// ECDSA with SHA-256), and the ASN.1 libraries it took before were a quarter of the agent's
// bundle, whose source a device keeps in memory for good (BENCHMARKS.md "agent").

const OID_COMMON_NAME = '2.5.4.3';
const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

/** A PKCS#10 request (RFC 2986) for the key, signed by it: the signature proves the device holds the key. */
export function certificateRequest(key: KeyObject, commonName: string): string {
  const info = sequence(
    tlv(0x02, Buffer.from([0])), // version 0
    sequence(set(sequence(oid(OID_COMMON_NAME), tlv(0x0c, Buffer.from(commonName, 'utf8'))))), // subject: CN
    createPublicKey(key).export({ type: 'spki', format: 'der' }), // subjectPKInfo, DER already
    tlv(0xa0, Buffer.alloc(0)), // attributes [0]: none
  );
  const signature = sign('sha256', info, key); // DER Ecdsa-Sig-Value, as the BIT STRING holds it
  const request = sequence(info, sequence(oid(OID_ECDSA_WITH_SHA256)), tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  return pem('CERTIFICATE REQUEST', request);
}

function tlv(tag: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(value.length), value]);
}

/** DER lengths: one byte below 128, else 0x80 + the count of big-endian bytes that follow. */
function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function sequence(...items: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(items));
}

function set(...items: Buffer[]): Buffer {
  return tlv(0x31, Buffer.concat(items));
}

/** An OBJECT IDENTIFIER: the first two arcs as 40 × a + b, each arc in base 128 with continuation bits. */
function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const bytes: number[] = [];
  for (const arc of [a! * 40 + b!, ...rest]) {
    const chunk = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift(0x80 | (n & 0x7f));
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function pem(label: string, der: Buffer): string {
  return `-----BEGIN ${label}-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '')}\n-----END ${label}-----\n`;
}
