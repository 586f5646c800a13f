import { isValidDeviceId } from '@flotilla/shared';
import { scryptSync } from 'node:crypto';
import { base32, hashPassword, newDeviceId, newDevicePassword, PasswordMacs, verifyPassword } from './credentials';

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

  it('verifies hashes made with a real work factor (computed in the thread pool, not inline)', async () => {
    const salt = Buffer.from('0123456789abcdef');
    const key = scryptSync('secret', salt, 32, { N: 1024, r: 8, p: 1 });
    const stored = ['scrypt', 1024, 8, 1, salt.toString('base64'), key.toString('base64')].join('$');
    await expect(verifyPassword('secret', stored)).resolves.toBe(true);
    await expect(verifyPassword('secreT', stored)).resolves.toBe(false);
  });

  it('gives the same MAC for the same password in one process, and another under another key', () => {
    const macs = new PasswordMacs();
    expect(PasswordMacs.same(macs.of('a'), macs.of('a'))).toBe(true);
    expect(PasswordMacs.same(macs.of('a'), macs.of('b'))).toBe(false);
    expect(PasswordMacs.same(macs.of('a'), new PasswordMacs().of('a'))).toBe(false);
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
