import { join } from 'node:path';
import { z } from 'zod';
import { readFileIfExists, writeFileAtomic } from '../state/atomic-file';

const LedgerFile = z.object({ version: z.literal(1), images: z.array(z.string()) });

/**
 * The image references this agent pulled or ran, so garbage collection after a commit
 * removes only what the agent brought and never an image someone else uses on the engine.
 */
export class ImageLedger {
  readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, 'images.json');
  }

  async read(): Promise<string[]> {
    const text = await readFileIfExists(this.path);
    if (text === undefined) return [];
    const parsed = LedgerFile.safeParse(safeJson(text));
    // A damaged ledger only means some old images are not collected: never a reason to stop.
    return parsed.success ? parsed.data.images : [];
  }

  async add(images: readonly string[]): Promise<void> {
    const known = await this.read();
    const merged = [...new Set([...known, ...images])].sort();
    if (merged.length !== known.length) await this.write(merged);
  }

  async write(images: readonly string[]): Promise<void> {
    await writeFileAtomic(this.path, JSON.stringify({ version: 1, images: [...images].sort() }));
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
