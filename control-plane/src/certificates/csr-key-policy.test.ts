import { csrKeyRefusal } from './csr-key-policy';

describe('csrKeyRefusal', () => {
  it('accepts P-256, P-384 and RSA of 2048 to 4096 bits', () => {
    for (const algorithm of [
      { name: 'ECDSA', namedCurve: 'P-256' },
      { name: 'ECDSA', namedCurve: 'P-384' },
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048 },
      { name: 'RSA-PSS', modulusLength: 4096 },
    ])
      expect(csrKeyRefusal(algorithm)).toBeUndefined();
  });

  it('refuses weak or oversized RSA, other curves and other algorithms, saying which', () => {
    expect(csrKeyRefusal({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024 })).toBe('its key is RSA of 1024 bits');
    expect(csrKeyRefusal({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2047 })).toBe('its key is RSA of 2047 bits');
    expect(csrKeyRefusal({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 4104 })).toBe('its key is RSA of 4104 bits');
    expect(csrKeyRefusal({ name: 'RSASSA-PKCS1-v1_5' })).toBe('its key is RSA of 0 bits');
    expect(csrKeyRefusal({ name: 'ECDSA', namedCurve: 'P-521' })).toBe('its key is on curve P-521');
    expect(csrKeyRefusal({ name: 'Ed25519' })).toBe('its key is Ed25519');
  });
});
