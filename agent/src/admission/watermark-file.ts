import { join } from 'node:path';
import { ZERO_WATERMARK, type DesiredWatermark } from '@flotilla/shared/device';
import { z } from 'zod';
import { readFileIfExists, writeFileAtomic } from '../state/atomic-file';
import { AgentError } from '../support/errors';

export const WATERMARK_FILE = 'desired-watermark.json';

const WatermarkSchema = z.object({
  schema: z.literal(1),
  rev: z.number().int().nonnegative(),
  issuedAt: z.string().nullable(),
  newestReleaseAt: z.string().nullable(),
});

export class WatermarkCorruptError extends AgentError {
  readonly code = 'desired-watermark-corrupt';
}

/**
 * The highest desired statement the device took (`DesiredWatermark`), beside the update
 * journal, written atomically before the statement reaches the updater. A corrupt file stops
 * the agent rather than starting from zero: zero would let an older signed statement back in.
 */
export class WatermarkFile {
  readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, WATERMARK_FILE);
  }

  async read(): Promise<DesiredWatermark> {
    const text = await readFileIfExists(this.path);
    if (text === undefined) return ZERO_WATERMARK;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new WatermarkCorruptError(`${this.path} is not JSON (${(e as Error).message}); ${REPAIR}`, { terminal: true });
    }
    const parsed = WatermarkSchema.safeParse(json);
    if (!parsed.success) throw new WatermarkCorruptError(`${this.path} is not a desired watermark; ${REPAIR}`, { terminal: true });
    const { rev, issuedAt, newestReleaseAt } = parsed.data;
    return { rev, issuedAt, newestReleaseAt };
  }

  async write(watermark: DesiredWatermark): Promise<void> {
    await writeFileAtomic(this.path, JSON.stringify({ schema: 1, ...watermark }) + '\n');
  }
}

const REPAIR = 'delete it to accept the next signed desired state newer than the update journal holds';
