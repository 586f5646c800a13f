import { join } from 'node:path';
import { z } from 'zod';
import { Desired } from '@flotilla/shared/device';
import { readFileIfExists, writeFileAtomic } from '../state/atomic-file';
import { AgentError } from '../support/errors';
import { INITIAL_STATE, PHASES, type UpdateState } from './machine';

const JournalFile = z.object({
  version: z.literal(1),
  state: z.object({
    phase: z.enum(PHASES),
    active: Desired.nullable(),
    candidate: Desired.nullable(),
    pending: Desired.nullable(),
    failedRev: z.number().int().nullable(),
    lastFailure: z.string().nullable(),
  }),
});

export class JournalCorruptError extends AgentError {
  readonly code = 'journal-corrupt';
}

/**
 * The update state on disk. Every state is written (temp file, fsync, rename, fsync of the
 * directory) before the updater acts on it, so after a crash or power cut the agent
 * finds either the old or the new state, never a torn one.
 */
export class UpdateJournal {
  readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, 'update-journal.json');
  }

  async read(): Promise<UpdateState> {
    const text = await readFileIfExists(this.path);
    if (text === undefined) return INITIAL_STATE;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new JournalCorruptError(`${this.path} is not JSON (${(e as Error).message}); move it aside to start from an empty state`, {
        terminal: true,
      });
    }
    const parsed = JournalFile.safeParse(json);
    if (!parsed.success) {
      throw new JournalCorruptError(
        `${this.path} does not hold an update state: ${parsed.error.issues[0]?.message}; move it aside to start from an empty state`,
        {
          terminal: true,
        },
      );
    }
    return parsed.data.state;
  }

  async write(state: UpdateState): Promise<void> {
    await writeFileAtomic(this.path, JSON.stringify({ version: 1, state }));
  }
}
