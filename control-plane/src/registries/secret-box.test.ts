import { randomBytes } from 'node:crypto';
import { SecretBox, SecretUnreadableError } from './secret-box';

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));

  it('opens what it sealed, and never shows the plain text in the sealed form', () => {
    const sealed = box.seal('s3cret-pässword', '127.0.0.1:5001');
    expect(sealed).toMatch(/^v1:/);
    expect(sealed).not.toContain('s3cret');
    expect(box.open(sealed, '127.0.0.1:5001')).toBe('s3cret-pässword');
    expect(box.seal('same', 'r')).not.toBe(box.seal('same', 'r'));
  });

  it('refuses a value sealed for another registry, with another key, or tampered with', () => {
    const sealed = box.seal('pw', 'a.example.com');
    expect(() => box.open(sealed, 'b.example.com')).toThrow(SecretUnreadableError);
    expect(() => new SecretBox(randomBytes(32)).open(sealed, 'a.example.com')).toThrow(SecretUnreadableError);
    const parts = sealed.split(':');
    parts[3] = Buffer.from('xx').toString('base64');
    expect(() => box.open(parts.join(':'), 'a.example.com')).toThrow(SecretUnreadableError);
    expect(() => box.open('plain', 'a.example.com')).toThrow(/not a sealed secret/);
  });

  it('needs a 256-bit key', () => {
    expect(() => new SecretBox(randomBytes(16))).toThrow(/32 bytes/);
  });
});
