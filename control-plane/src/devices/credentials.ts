import { hash, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

/**
 * Device identity and MQTT password. A device's password is never chosen by a person: the
 * control plane makes it, 256 random bits (`newDevicePassword`), and shows it once. Guessing it
 * is out of reach at any hash speed, so what is stored is its SHA-256 digest, as for any random
 * API token: a slow password KDF (scrypt, bcrypt) only defends low-entropy secrets, and here it
 * would only add CPU at every connect (issue 15: a scrypt and a MAC per first connect were the
 * largest item of the control plane's own work in a 10,000-device storm). `hashPassword` refuses
 * anything shorter than such a token, so it cannot be used for a person's password by mistake.
 *
 * Hashes of earlier versions (`scrypt$N$r$p$salt$key`) still verify; once a password has been
 * verified against one, `upgradedHash` gives its digest to store instead (DeviceDirectory).
 */
const SHA256_PREFIX = 'sha256$';
/** 32 random bytes in base64url (`newDevicePassword`): the least a hashed password may be. */
const MIN_PASSWORD_LENGTH = 43;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** RFC 4648 base32, lowercase, no padding: ids stay case-insensitive-safe and within `[A-Za-z0-9_-]`. */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** `dev_` + 128 random bits. */
export function newDeviceId(): string {
  return `dev_${base32(randomBytes(16))}`;
}

/** 256 random bits, base64url (43 characters). */
export function newDevicePassword(): string {
  return randomBytes(32).toString('base64url');
}

/** `sha256$` + the digest of a generated password (base64url); throws for anything shorter than one. */
export function hashPassword(password: string): string {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new Error(`a device password is a generated 256-bit secret (${MIN_PASSWORD_LENGTH} characters); this one is ${password.length}`);
  return SHA256_PREFIX + digest(password).toString('base64url');
}

/**
 * What to store instead of `stored`, a hash `password` has just been verified against: its
 * digest when `stored` is of an earlier format; undefined when it is current, or when the
 * password is too short to be a generated one (set by hand: kept as it is).
 */
export function upgradedHash(password: string, stored: string): string | undefined {
  return stored.startsWith(SHA256_PREFIX) || password.length < MIN_PASSWORD_LENGTH ? undefined : hashPassword(password);
}

/** False for a wrong password and for a hash this code cannot read; never throws on bad input. Constant time in the password. */
export function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (!stored.startsWith(SHA256_PREFIX)) return verifyScrypt(password, stored);
  const expected = Buffer.from(stored.slice(SHA256_PREFIX.length), 'base64url');
  return Promise.resolve(expected.length === 32 && timingSafeEqual(digest(password), expected));
}

/** One-shot (`crypto.hash`): no Hash object per connect, about half the cost of `createHash`. */
function digest(password: string): Buffer {
  return hash('sha256', password, 'buffer');
}

async function verifyScrypt(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  if (![n, r, p].every(Number.isInteger) || expected.length === 0) return false;
  const actual = await derive(password, salt, n, r, p, expected.length).catch(() => undefined);
  return actual !== undefined && timingSafeEqual(actual, expected);
}

/**
 * Up to this much scrypt work (N·r·p) the hash is computed on the main thread: the last scrypt
 * parameters (N=16, r=1) cost ~0.015 ms, less than handing it to libuv's thread pool and back.
 * Older hashes with a real work factor go to the pool.
 */
const INLINE_SCRYPT_WORK = 64;

function derive(password: string, salt: Buffer, N: number, r: number, p: number, keyLength: number): Promise<Buffer> {
  const options = { N, r, p, maxmem: 128 * N * r * 2 };
  if (N * r * p <= INLINE_SCRYPT_WORK) {
    try {
      return Promise.resolve(scryptSync(password, salt, keyLength, options));
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}
