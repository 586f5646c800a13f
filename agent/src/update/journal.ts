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
      throw new JournalCorruptError(`${this.path} is not JSON (${(e as Error).message}); ${repair(this.path)}`, { terminal: true });
    }
    const parsed = JournalFile.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]?.message;
      throw new JournalCorruptError(`${this.path} does not hold an update state (${issue}); ${repair(this.path)}`, { terminal: true });
    }
    return parsed.data.state;
  }

  async write(state: UpdateState): Promise<void> {
    await writeFileAtomic(this.path, JSON.stringify({ version: 1, state }));
  }
}

/**
 * What a technician does about a damaged journal. Without it the agent knows no active release
 * (it runs none: the assembly's containers stop) and holds no rev, while the desired watermark
 * still refuses the control plane's current rev as already held.
 */
function repair(path: string): string {
  return (
    `move it aside, keeping it for diagnosis (mv ${path} ${path}.damaged), and start the agent again: ` +
    'it starts with no active release (its containers stop) and takes the next desired state newer than ' +
    'desired-watermark.json holds, so re-assign the release or move that file aside too'
  );
}
