import { isValidDeviceId } from '@flotilla/shared';
import { createHash, scryptSync } from 'node:crypto';
import { base32, hashPassword, newDeviceId, newDevicePassword, upgradedHash, verifyPassword } from './credentials';

describe('device credentials', () => {
  it('encodes base32 as RFC 4648 (lowercase, unpadded)', () => {
    const vectors: [string, string][] = [
      ['', ''],
      ['f', 'my'],
      ['fo', 'mzxq'],
      ['foo', 'mzxw6'],
      ['foob', 'mzxw6yq'],
      ['fooba', 'mzxw6ytb'],
      ['foobar', 'mzxw6ytboi'],
    ];
    for (const [input, output] of vectors) expect(base32(Buffer.from(input))).toBe(output);
  });

  it('makes device ids that are valid protocol ids and do not repeat', () => {
    const ids = new Set(Array.from({ length: 200 }, newDeviceId));
    expect(ids.size).toBe(200);
    for (const id of ids) {
      expect(id).toMatch(/^dev_[a-z2-7]{26}$/);
      expect(isValidDeviceId(id)).toBe(true);
    }
  });

  it('stores the SHA-256 digest of a generated password, verifies it and refuses a wrong one', async () => {
    const password = newDevicePassword();
    expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const hash = hashPassword(password);
    expect(hash).toBe(`sha256$${createHash('sha256').update(password).digest('base64url')}`);
    expect(hash).not.toContain(password);
    await expect(verifyPassword(password, hash)).resolves.toBe(true);
    await expect(verifyPassword(`${password}x`, hash)).resolves.toBe(false);
    await expect(verifyPassword(password.slice(1), hash)).resolves.toBe(false);
    await expect(verifyPassword('', hash)).resolves.toBe(false);
  });

  it('refuses to hash a password shorter than a generated one (a digest is no protection for a chosen one)', () => {
    expect(() => hashPassword('correct horse battery staple')).toThrow(/generated 256-bit secret/);
    expect(() => hashPassword(newDevicePassword().slice(1))).toThrow(/43 characters/);
  });

  it('verifies the scrypt hashes of earlier versions, inline and with a real work factor (in the thread pool)', async () => {
    const password = newDevicePassword();
    for (const [N, r] of [
      [16, 1],
      [1024, 8],
    ] as const) {
      const stored = scryptHash(password, N, r);
      await expect(verifyPassword(password, stored)).resolves.toBe(true);
      await expect(verifyPassword(`${password}x`, stored)).resolves.toBe(false);
    }
  });

  it("upgrades an earlier version's hash to the digest once verified; leaves a current hash and a short password as they are", async () => {
    const password = newDevicePassword();
    const legacy = scryptHash(password, 16, 1);
    const upgraded = upgradedHash(password, legacy);
    expect(upgraded).toBe(hashPassword(password));
    await expect(verifyPassword(password, upgraded!)).resolves.toBe(true);
    expect(upgradedHash(password, hashPassword(password))).toBeUndefined();
    // Set by hand in the database: verifies as before, never turned into a bare digest.
    expect(upgradedHash('secret', scryptHash('secret', 16, 1))).toBeUndefined();
  });

  it('answers false, without throwing, for hashes it cannot read', async () => {
    for (const stored of [
      '',
      'plain',
      'bcrypt$1$2$3$4$5',
      'scrypt$x$8$1$c2FsdA==$a2V5',
      'scrypt$3$8$1$c2FsdA==$a2V5',
      'scrypt$4096$8$1$c2FsdA==$',
      'sha256$',
      'sha256$a2V5',
      `sha256$${'A'.repeat(44)}`,
      'SHA256$' + hashPassword(newDevicePassword()).slice(7),
    ]) {
      await expect(verifyPassword('secret', stored)).resolves.toBe(false);
    }
  });
});

/** As the control plane stored passwords before it stored their digests. */
function scryptHash(password: string, N: number, r: number): string {
  const salt = Buffer.from('0123456789abcdef');
  const key = scryptSync(password, salt, 32, { N, r, p: 1 });
  return ['scrypt', N, r, 1, salt.toString('base64'), key.toString('base64')].join('$');
}
