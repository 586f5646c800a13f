import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { DeltaUnusableError } from './errors';

/**
 * The little of the tar format (POSIX ustar) the delta path needs: reading the entries of an
 * engine's image export (`docker save`) and writing a docker-archive for `docker load`. Entry
 * names there are short (`<64 hex>/layer.tar`), so no PAX or GNU long names are written; when
 * reading, PAX and GNU headers are skipped (the names they would lengthen are not ones we look for).
 */

const BLOCK = 512;

export interface TarEntry {
  name: string;
  /** Where the entry's data starts in the file, and its size. */
  offset: number;
  size: number;
}

/**
 * The regular files of the tar file at `path`. A header whose size is not octal digits, or whose
 * data would run past the end of the file, ends the listing with an error: every offset and size
 * handed out lies within the file.
 */
export async function listTar(path: string): Promise<TarEntry[]> {
  const file = await open(path, 'r');
  try {
    const length = (await file.stat()).size;
    const entries: TarEntry[] = [];
    const header = Buffer.alloc(BLOCK);
    for (let at = 0; ;) {
      const { bytesRead } = await file.read(header, 0, BLOCK, at);
      if (bytesRead < BLOCK || header.every((b) => b === 0)) return entries;
      const sizeField = field(header, 124, 12);
      const prefix = field(header, 345, 155);
      const name = (prefix ? `${prefix}/` : '') + field(header, 0, 100);
      if (!/^[0-7]*$/.test(sizeField))
        throw new DeltaUnusableError(`${path}: the tar header of "${name}" at byte ${at} has no octal size ("${sizeField}")`);
      const size = parseInt(sizeField || '0', 8);
      if (at + BLOCK + size > length)
        throw new DeltaUnusableError(`${path}: "${name}" at byte ${at} says ${size} bytes, past the end of the ${length}-byte file`);
      const type = String.fromCharCode(header[156]!);
      if (type === '0' || type === '\0') entries.push({ name, offset: at + BLOCK, size });
      at += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    }
  } finally {
    await file.close();
  }
}

/** Copies one entry out to `dest`; answers its sha256 digest. */
export async function extractEntry(path: string, entry: TarEntry, dest: string): Promise<string> {
  const hash = createHash('sha256');
  const source = createReadStream(path, { start: entry.offset, end: entry.offset + entry.size - 1 });
  source.on('data', (chunk) => hash.update(chunk));
  await pipeline(source, createWriteStream(dest));
  return `sha256:${hash.digest('hex')}`;
}

/** Writes a tar of `files` (name in the archive → path on disk), owned by root, mtime 0. */
export async function writeTar(dest: string, files: readonly { name: string; path: string }[]): Promise<void> {
  const out = createWriteStream(dest);
  const write = (chunk: Buffer) => new Promise<void>((resolve, reject) => out.write(chunk, (err) => (err ? reject(err) : resolve())));
  try {
    for (const f of files) {
      const { size } = await stat(f.path);
      await write(header(f.name, size));
      for await (const chunk of createReadStream(f.path)) await write(chunk as Buffer);
      if (size % BLOCK) await write(Buffer.alloc(BLOCK - (size % BLOCK)));
    }
    await write(Buffer.alloc(2 * BLOCK));
  } finally {
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
}

function header(name: string, size: number): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar entry name too long for ustar: ${name}`);
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148); // checksum field counts as spaces while summing
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  const sum = h.reduce((s, b) => s + b, 0);
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

function field(h: Buffer, start: number, length: number): string {
  const raw = h.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw
    .subarray(0, end < 0 ? length : end)
    .toString('utf8')
    .trim();
}
