import { isValidDeviceId } from '@flotilla/shared';
import { base32, hashPassword, newDeviceId, newDevicePassword, verifyPassword } from './credentials';

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

  it('verifies the right password and refuses a wrong one', async () => {
    const password = newDevicePassword();
    expect(password.length).toBeGreaterThanOrEqual(43);
    const hash = await hashPassword(password);
    expect(hash).toMatch(/^scrypt\$\d+\$\d+\$\d+\$[^$]+\$[^$]+$/);
    expect(hash).not.toContain(password);
    await expect(verifyPassword(password, hash)).resolves.toBe(true);
    await expect(verifyPassword(`${password}x`, hash)).resolves.toBe(false);
    await expect(verifyPassword('', hash)).resolves.toBe(false);
  });

  it('salts: the same password hashes differently each time', async () => {
    const password = newDevicePassword();
    expect(await hashPassword(password)).not.toBe(await hashPassword(password));
  });

  it('answers false, without throwing, for hashes it cannot read', async () => {
    for (const stored of [
      '',
      'plain',
      'bcrypt$1$2$3$4$5',
      'scrypt$x$8$1$c2FsdA==$a2V5',
      'scrypt$3$8$1$c2FsdA==$a2V5',
      'scrypt$4096$8$1$c2FsdA==$',
    ]) {
      await expect(verifyPassword('secret', stored)).resolves.toBe(false);
    }
  });
});
