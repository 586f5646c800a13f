import { crc32 } from './crc32';
import { nextEnvWrite, parseUbootEnv, serializeUbootEnvCopy } from './uboot-env';

const single = { size: 256, redundant: false };
const redundant = { size: 256, redundant: true };
const env = (o: Record<string, string>) => new Map(Object.entries(o));

describe('U-Boot environment format', () => {
  it('uses the IEEE CRC-32', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('lays out crc32 (little-endian) then name=value\\0 entries ending with an empty one', () => {
    const bytes = serializeUbootEnvCopy(env({ bootlimit: '3', boot_slot: 'B' }), single);
    expect(bytes).toHaveLength(256);
    expect(bytes.readUInt32LE(0)).toBe(crc32(bytes.subarray(4)));
    expect(bytes.toString('latin1', 4, 4 + 24)).toBe('boot_slot=B\0bootlimit=3\0');
    expect(bytes[28]).toBe(0);
    expect(parseUbootEnv(bytes, single)).toEqual({ env: env({ boot_slot: 'B', bootlimit: '3' }), valid: true, current: 0, flags: 0 });
  });

  it('treats a copy with a bad CRC as missing (U-Boot then uses its default environment)', () => {
    const bytes = serializeUbootEnvCopy(env({ a: '1' }), single);
    bytes[10] ^= 0xff;
    expect(parseUbootEnv(bytes, single).valid).toBe(false);
  });

  it('with a redundant environment, reads the newer valid copy and writes the other one with flags + 1', () => {
    const image = Buffer.concat([
      serializeUbootEnvCopy(env({ boot_slot: 'A' }), redundant, 7),
      serializeUbootEnvCopy(env({ boot_slot: 'B' }), redundant, 8),
    ]);
    const read = parseUbootEnv(image, redundant);
    expect(read).toMatchObject({ env: env({ boot_slot: 'B' }), current: 1, flags: 8 });
    const write = nextEnvWrite(env({ boot_slot: 'A' }), redundant, read);
    expect(write.offset).toBe(0);
    expect(write.bytes[4]).toBe(9);

    // A torn write of copy 0 leaves copy 1 current.
    write.bytes.copy(image, 0);
    image[100] ^= 1;
    expect(parseUbootEnv(image, redundant).env.get('boot_slot')).toBe('B');
  });

  it('wraps the flags counter: 0 after 255 is newer', () => {
    const image = Buffer.concat([
      serializeUbootEnvCopy(env({ v: 'old' }), redundant, 255),
      serializeUbootEnvCopy(env({ v: 'new' }), redundant, 0),
    ]);
    expect(parseUbootEnv(image, redundant).env.get('v')).toBe('new');
  });

  it('refuses variables that do not fit, naming the setting to raise', () => {
    expect(() => serializeUbootEnvCopy(env({ big: 'x'.repeat(300) }), single)).toThrow(/raise boot.env.size/);
  });
});
