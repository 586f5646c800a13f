import { createHmac, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

/**
 * Device identity and MQTT password. Passwords are 256-bit random secrets, so a work factor adds
 * nothing against guessing (2^256 stays out of reach at any hash speed); what it does add is CPU
 * at every connect. Measured (control-plane/bench/connect.bench.ts, 2 cores): at N=4096, r=8
 * (~30 ms a hash, in libuv's 4-thread pool) a connect storm of 1,000 devices took 11 s and
 * 10,000 would take minutes; at N=16, r=1 (~0.02 ms) the hash is no longer visible in a profile.
 * The parameters travel inside each hash: hashes made with the old ones still verify.
 */
const SCRYPT = { N: 16, r: 1, p: 1, keyLength: 32, saltLength: 16 };
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

export function newDevicePassword(): string {
  return randomBytes(32).toString('base64url');
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SCRYPT.saltLength);
  const key = await derive(password, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p, SCRYPT.keyLength);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/** False for a wrong password and for a hash this code cannot read; never throws on bad input. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
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
 * Up to this much scrypt work (N·r·p) the hash is computed on the main thread: at N=16, r=1 it
 * costs ~0.015 ms, less than handing it to libuv's thread pool and back, and a connect storm's
 * thousands of pool hand-offs blocked the event loop on the pool's lock (a CPU profile of the
 * storm on a loaded machine: 28 s of the main thread in scrypt's dispatch). Legacy hashes with
 * a real work factor still go to the pool.
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

/**
 * Passwords this process has verified, as a MAC under a key that never leaves the process: a
 * device's next connect compares MACs (constant time) instead of running scrypt again. Only as
 * good as the stored hash it was verified against; the caller keeps it beside that hash and
 * drops it when the hash changes.
 */
export class PasswordMacs {
  private readonly key = randomBytes(32);

  of(password: string): Buffer {
    return createHmac('sha256', this.key).update(password).digest();
  }

  static same(a: Buffer, b: Buffer): boolean {
    return a.length === b.length && timingSafeEqual(a, b);
  }
}
