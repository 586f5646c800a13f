import { X509Certificate, randomBytes, sign, type KeyObject } from 'node:crypto';
import { bitString, boolean, explicit, objectId, octetString, sequence, set, time, unsignedInteger, utf8 } from './der';

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const COMMON_NAME = '2.5.4.3';
const BASIC_CONSTRAINTS = '2.5.29.19';

/**
 * A self-signed X.509 v3 certificate for `key` (P-256), valid from an hour before `now` for
 * `years`. It is a trust anchor, not a TLS certificate: the registry checks a token's `x5c`
 * chain against it, so it only has to carry the public key under a name.
 */
export function selfSignedCertificate(
  key: { privateKey: KeyObject; publicKey: KeyObject },
  commonName: string,
  now: Date,
  years: number,
): X509Certificate {
  const name = sequence(set(sequence(objectId(COMMON_NAME), utf8(commonName))));
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + years);
  const algorithm = sequence(objectId(ECDSA_WITH_SHA256));
  const tbs = sequence(
    explicit(0, unsignedInteger(Buffer.from([2]))),
    unsignedInteger(randomBytes(16)),
    algorithm,
    name,
    sequence(time(new Date(now.getTime() - 3_600_000)), time(notAfter)),
    name,
    key.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, sequence(sequence(objectId(BASIC_CONSTRAINTS), boolean(true), octetString(sequence(boolean(true)))))),
  );
  const signature = sign('sha256', tbs, key.privateKey);
  return new X509Certificate(sequence(tbs, algorithm, bitString(signature)));
}
