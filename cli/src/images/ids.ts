import { createHash } from 'node:crypto';

/**
 * File-system and partition identifiers derived from the build's inputs instead of drawn at
 * random, so that the same inputs give the same image bytes. Two images of one fleet share
 * them, as all copies of a distribution image do.
 */
export class DerivedIds {
  constructor(private readonly seed: string) {}

  private hex(purpose: string): string {
    return createHash('sha256').update(`${this.seed}\0${purpose}`).digest('hex');
  }

  /** 8 hex digits for an MBR disk id, a GUID for GPT. */
  get diskId(): string {
    return this.uuid('disk');
  }

  /** An RFC 4122 version-4 shaped UUID (mke2fs and sfdisk check the shape, not the origin). */
  uuid(purpose: string): string {
    const h = this.hex(purpose).slice(0, 32).split('');
    h[12] = '4';
    h[16] = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
    const s = h.join('');
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
  }

  /** FAT volume id: 8 hex digits. */
  volumeId(purpose: string): string {
    return this.hex(purpose).slice(0, 8).toUpperCase();
  }
}
