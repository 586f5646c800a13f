import { bearerToken, randomSecret, secretsEqual, sha256Hex } from './secrets';

describe('secrets', () => {
  it('reads the token of a Bearer header, and nothing else', () => {
    expect(bearerToken('Bearer abc.def')).toBe('abc.def');
    expect(bearerToken('bearer  abc ')).toBe('abc');
    for (const header of [undefined, '', 'Bearer', 'Basic abc', 'Bearer a b', 'abc']) expect(bearerToken(header)).toBeUndefined();
  });

  it('compares secrets of any lengths', () => {
    expect(secretsEqual('same-secret', 'same-secret')).toBe(true);
    expect(secretsEqual('same-secret', 'same-secreT')).toBe(false);
    expect(secretsEqual('short', 'a much longer secret')).toBe(false);
    expect(secretsEqual('', 'x')).toBe(false);
  });

  it('makes prefixed 256-bit secrets and sha256 digests', () => {
    expect(randomSecret('fok_')).toMatch(/^fok_[A-Za-z0-9_-]{43}$/);
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
