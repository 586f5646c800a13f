import { createHash, type Hash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { readFileIfExists, writeFileAtomic } from '../state/atomic-file';

/**
 * Streams an OS image into the inactive root slot (a block device, or a file in tests),
 * hashing as it goes. Progress is checkpointed (target fsynced first, then the checkpoint
 * file), so an interrupted write resumes where the last checkpoint says: the bytes already
 * on the slot are hashed again to restore the hash state, and the source is asked for the
 * rest from that offset (an HTTP Range request in practice).
 */
export interface SlotImage {
  sha256: string;
  size: number;
}

/** The image's bytes from `offset` to the end. */
export type OpenImageSource = (offset: number) => Promise<AsyncIterable<Uint8Array>>;

export interface WriteSlotOptions {
  target: string;
  image: SlotImage;
  open: OpenImageSource;
  /** Where the checkpoint lives (the agent's state dir, not the slot). */
  checkpointPath: string;
  checkpointEvery?: number;
  onProgress?(written: number, total: number): void;
}

export class SlotWriteError extends Error {
  constructor(
    readonly code: 'hash-mismatch' | 'size-mismatch' | 'verify-failed' | 'slot-too-small',
    message: string,
    /** Writing the same image again cannot help. */
    readonly terminal: boolean,
  ) {
    super(message);
    this.name = 'SlotWriteError';
  }
}

interface Checkpoint {
  sha256: string;
  written: number;
}

const CHUNK = 4 * 1024 * 1024;

export async function writeSlot(options: WriteSlotOptions): Promise<{ resumedAt: number }> {
  const { image, target } = options;
  const every = options.checkpointEvery ?? 64 * 1024 * 1024;
  const checkpoint = parseCheckpoint(await readFileIfExists(options.checkpointPath));
  const resumeAt = checkpoint && checkpoint.sha256 === image.sha256 && checkpoint.written <= image.size ? checkpoint.written : 0;

  await (await open(target, 'a')).close(); // a file target may not exist yet; a block device always does
  const slot = await open(target, 'r+');
  try {
    const fixedSize = !(await slot.stat()).isFile();
    if (fixedSize) await ensureRoom(slot, target, image.size);
    const hash = createHash('sha256');
    await hashRange(slot, 0, resumeAt, hash);
    let written = resumeAt;
    let sinceCheckpoint = 0;
    for await (const piece of await options.open(resumeAt)) {
      if (written + piece.length > image.size)
        throw new SlotWriteError('size-mismatch', `the OS image source gave more than the announced ${image.size} bytes`, true);
      await slot.write(piece, 0, piece.length, written).catch((err: NodeJS.ErrnoException) => {
        if (fixedSize && (err.code === 'ENOSPC' || err.code === 'EFBIG')) throw tooSmall(target, image.size, written);
        throw err;
      });
      hash.update(piece);
      written += piece.length;
      sinceCheckpoint += piece.length;
      options.onProgress?.(written, image.size);
      if (sinceCheckpoint >= every) {
        await slot.sync();
        await writeFileAtomic(options.checkpointPath, JSON.stringify({ sha256: image.sha256, written } satisfies Checkpoint));
        sinceCheckpoint = 0;
      }
    }
    if (written !== image.size)
      throw new SlotWriteError('size-mismatch', `the OS image source ended at ${written} of ${image.size} bytes; will resume`, false);
    const digest = hash.digest('hex');
    if (digest !== image.sha256) {
      await rm(options.checkpointPath, { force: true });
      throw new SlotWriteError(
        'hash-mismatch',
        `the OS image hashes to ${digest}, the release says ${image.sha256}; refusing to boot it`,
        true,
      );
    }
    await slot.sync();
    // Read back what the medium holds: a failing SD card accepts writes it cannot return.
    const readBack = createHash('sha256');
    await hashRange(slot, 0, image.size, readBack);
    if (readBack.digest('hex') !== image.sha256) {
      await rm(options.checkpointPath, { force: true });
      throw new SlotWriteError(
        'verify-failed',
        `slot ${target} reads back differently from what was written: the medium may be failing`,
        false,
      );
    }
    await rm(options.checkpointPath, { force: true });
    return { resumedAt: resumeAt };
  } finally {
    await slot.close();
  }
}

/**
 * A slot partition does not grow: an image larger than it is refused before a byte is downloaded
 * (reading past a block device's end gives nothing), and would otherwise fail at its end on
 * every retry. A regular file (tests) grows, and its ENOSPC is a full disk, which can clear.
 */
async function ensureRoom(slot: Awaited<ReturnType<typeof open>>, target: string, size: number): Promise<void> {
  const { bytesRead } = await slot.read(Buffer.alloc(1), 0, 1, size - 1);
  if (bytesRead === 0) throw tooSmall(target, size);
}

function tooSmall(target: string, size: number, at?: number): SlotWriteError {
  return new SlotWriteError(
    'slot-too-small',
    `the OS image (${size} bytes) does not fit slot ${target}${at === undefined ? '' : `, which ended at byte ${at}`}: build the image for this board's partition layout`,
    true,
  );
}

async function hashRange(file: Awaited<ReturnType<typeof open>>, from: number, to: number, hash: Hash): Promise<void> {
  const buffer = Buffer.alloc(CHUNK);
  for (let pos = from; pos < to;) {
    const { bytesRead } = await file.read(buffer, 0, Math.min(CHUNK, to - pos), pos);
    if (bytesRead === 0) throw new SlotWriteError('verify-failed', `the slot ended at ${pos} of ${to} bytes`, false);
    hash.update(buffer.subarray(0, bytesRead));
    pos += bytesRead;
  }
}

function parseCheckpoint(text: string | undefined): Checkpoint | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as Partial<Checkpoint>;
    // Any other offset would be handed to the slot and the Range request as is, and fail there on every retry.
    return typeof value.sha256 === 'string' && Number.isSafeInteger(value.written) && value.written! >= 0
      ? { sha256: value.sha256, written: value.written! }
      : undefined;
  } catch {
    return undefined; // a torn checkpoint only costs a restart from zero
  }
}
