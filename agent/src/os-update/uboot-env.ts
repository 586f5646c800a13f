import { BootBackendError } from './boot-slot-backend';
import { crc32 } from './crc32';

/**
 * U-Boot environment image, as `mkenvimage`, `fw_printenv` and `fw_setenv` read and
 * write it (tools/env/fw_env.c):
 *
 *   single:    [crc32 LE (4)] [data (size - 4)]
 *   redundant: two copies of `size` bytes one after the other (here: in one file),
 *              each [crc32 LE (4)] [flags (1)] [data (size - 5)]
 *
 * data is `name=value\0` entries, ended by an empty entry (`\0\0`), padded to the end.
 * The CRC covers the whole data area, padding included. With redundancy the valid copy
 * with the higher flags wins (255 → 0 wraps), and a write goes to the other copy with
 * flags + 1, so a torn write leaves the previous copy intact.
 */
export type UbootEnv = Map<string, string>;

export interface EnvLayout {
  size: number;
  redundant: boolean;
}

function headerSize(layout: EnvLayout): number {
  return layout.redundant ? 5 : 4;
}

function decodeData(data: Buffer): UbootEnv {
  const env: UbootEnv = new Map();
  let pos = 0;
  while (pos < data.length && data[pos] !== 0) {
    const end = data.indexOf(0, pos);
    const entry = data.toString('latin1', pos, end < 0 ? data.length : end);
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
    if (end < 0) break;
    pos = end + 1;
  }
  return env;
}

function encodeData(env: UbootEnv, length: number): Buffer {
  const data = Buffer.alloc(length, 0);
  let pos = 0;
  // fw_setenv keeps insertion order; sorted here so the same variables give the same bytes.
  for (const [name, value] of [...env].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (name.includes('=') || name === '') throw new BootBackendError('uboot-env-invalid', `invalid U-Boot variable name "${name}"`);
    const entry = Buffer.from(`${name}=${value}\0`, 'latin1');
    // Room for this entry plus the terminating empty entry.
    if (pos + entry.length + 1 > length)
      throw new BootBackendError('uboot-env-full', `U-Boot environment of ${length} bytes cannot hold the variables; raise boot.env.size`);
    entry.copy(data, pos);
    pos += entry.length;
  }
  return data;
}

interface Copy {
  env: UbootEnv;
  flags: number;
}

function readCopy(image: Buffer, offset: number, layout: EnvLayout): Copy | undefined {
  const copy = image.subarray(offset, offset + layout.size);
  if (copy.length < layout.size) return undefined;
  const data = copy.subarray(headerSize(layout));
  if (copy.readUInt32LE(0) !== crc32(data)) return undefined;
  return { env: decodeData(data), flags: layout.redundant ? copy[4] : 0 };
}

/** Which copy fw_env.c treats as current: the valid one, or of two valid, the newer flags. */
function newer(a: Copy, b: Copy): 0 | 1 {
  if (a.flags === 255 && b.flags === 0) return 1;
  if (b.flags === 255 && a.flags === 0) return 0;
  return b.flags > a.flags ? 1 : 0;
}

export interface ReadEnv {
  env: UbootEnv;
  /** False when no copy had a valid CRC: U-Boot then boots with its built-in default environment. */
  valid: boolean;
  /** The copy read (redundant layout), so the next write goes to the other one. */
  current: 0 | 1;
  flags: number;
}

export function parseUbootEnv(image: Buffer, layout: EnvLayout): ReadEnv {
  const first = readCopy(image, 0, layout);
  if (!layout.redundant)
    return first ? { env: first.env, valid: true, current: 0, flags: 0 } : { env: new Map(), valid: false, current: 0, flags: 0 };
  const second = readCopy(image, layout.size, layout);
  if (first && second) {
    const which = newer(first, second);
    const copy = which === 0 ? first : second;
    return { env: copy.env, valid: true, current: which, flags: copy.flags };
  }
  if (first) return { env: first.env, valid: true, current: 0, flags: first.flags };
  if (second) return { env: second.env, valid: true, current: 1, flags: second.flags };
  return { env: new Map(), valid: false, current: 1, flags: 0 };
}

/** One copy's bytes, for writing at `copyOffset(which)` (the whole image when not redundant). */
export function serializeUbootEnvCopy(env: UbootEnv, layout: EnvLayout, flags = 0): Buffer {
  const header = headerSize(layout);
  const data = encodeData(env, layout.size - header);
  const copy = Buffer.alloc(layout.size);
  copy.writeUInt32LE(crc32(data), 0);
  if (layout.redundant) copy[4] = flags & 0xff;
  data.copy(copy, header);
  return copy;
}

/**
 * Where and what to write so that `env` becomes current after `previous` (fw_setenv
 * semantics). With no valid copy yet, a redundant environment gets both copies, so that
 * readers that insist on two readable copies (libubootenv) find them.
 */
export function nextEnvWrite(env: UbootEnv, layout: EnvLayout, previous: ReadEnv): { offset: number; bytes: Buffer } {
  if (!layout.redundant) return { offset: 0, bytes: serializeUbootEnvCopy(env, layout) };
  if (!previous.valid)
    return { offset: 0, bytes: Buffer.concat([serializeUbootEnvCopy(env, layout, 1), serializeUbootEnvCopy(env, layout, 0)]) };
  const target = previous.current === 0 ? 1 : 0;
  return { offset: target * layout.size, bytes: serializeUbootEnvCopy(env, layout, (previous.flags + 1) & 0xff) };
}
