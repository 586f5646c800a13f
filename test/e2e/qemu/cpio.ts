/**
 * A cpio "newc" archive (the initramfs format the kernel unpacks), written in memory:
 * fixed inode numbers and mtimes, so the same entries give the same bytes.
 */
export type CpioEntry =
  | { path: string; type: 'dir'; mode?: number }
  | { path: string; type: 'file'; content: Buffer | string; mode?: number }
  | { path: string; type: 'symlink'; target: string };

const pad4 = (n: number) => (4 - (n % 4)) % 4;
const hex = (n: number) => n.toString(16).padStart(8, '0');

function record(ino: number, mode: number, name: string, data: Buffer): Buffer {
  const nameBytes = Buffer.from(`${name}\0`);
  const fields = [ino, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0];
  const header = Buffer.from(`070701${fields.map(hex).join('')}`, 'ascii');
  return Buffer.concat([header, nameBytes, Buffer.alloc(pad4(header.length + nameBytes.length)), data, Buffer.alloc(pad4(data.length))]);
}

export function cpioNewc(entries: readonly CpioEntry[]): Buffer {
  const parts = entries.map((e, i) => {
    const name = e.path.replace(/^\/+/, '');
    if (e.type === 'dir') return record(i + 1, 0o040000 | (e.mode ?? 0o755), name, Buffer.alloc(0));
    if (e.type === 'symlink') return record(i + 1, 0o120777, name, Buffer.from(e.target));
    return record(i + 1, 0o100000 | (e.mode ?? 0o644), name, Buffer.isBuffer(e.content) ? e.content : Buffer.from(e.content));
  });
  return Buffer.concat([...parts, record(0, 0, 'TRAILER!!!', Buffer.alloc(0))]);
}
