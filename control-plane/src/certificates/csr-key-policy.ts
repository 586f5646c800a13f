/**
 * The keys the device CA certifies: a device's key is its identity on every listener, so a key
 * that can be factored (RSA below 2048 bits) is refused, and so is one the broker's TLS would
 * spend more on than a device needs (RSA above 4096 bits) or would not take (other curves,
 * other algorithms). What TPMs and secure elements hold is inside: P-256, P-384, RSA 2048–4096.
 */
export const CSR_KEYS_ACCEPTED = 'an ECDSA P-256 or P-384 key, or RSA of 2048 to 4096 bits';

const CURVES = new Set(['P-256', 'P-384']);
const RSA_BITS = { min: 2048, max: 4096 };

/** The WebCrypto algorithm of the CSR's public key, as exported. */
export interface CsrKeyAlgorithm {
  name: string;
  namedCurve?: string;
  modulusLength?: number;
}

/** Why the key is refused, or undefined when it is accepted. */
export function csrKeyRefusal(algorithm: CsrKeyAlgorithm): string | undefined {
  if (algorithm.name === 'ECDSA')
    return CURVES.has(algorithm.namedCurve ?? '') ? undefined : `its key is on curve ${algorithm.namedCurve ?? 'unknown'}`;
  if (algorithm.name === 'RSASSA-PKCS1-v1_5' || algorithm.name === 'RSA-PSS') {
    const bits = algorithm.modulusLength ?? 0;
    return bits >= RSA_BITS.min && bits <= RSA_BITS.max ? undefined : `its key is RSA of ${bits} bits`;
  }
  return `its key is ${algorithm.name}`;
}
