import { join } from 'node:path';
import { z } from 'zod';
import { Desired } from '@flotilla/shared';
import { AgentError } from '../support/errors';
import { readFileIfExists, writeFileAtomic } from './atomic-file';

/**
 * What the agent last acted on: the desired state (rev, release, config) and how it
 * ended. After a restart the agent reconciles toward it without waiting for the network,
 * and asks the control plane only for revs newer than it.
 */
export const AppliedState = z.object({
  version: z.literal(1),
  desired: Desired,
  outcome: z.enum(['applied', 'failed']),
  error: z.string().optional(),
  /** A failure no retry can fix (see `AgentError.terminal`): wait for a newer rev instead. */
  terminal: z.boolean().optional(),
  /** When the outcome was reached (ISO 8601). */
  at: z.string(),
});
export type AppliedState = z.infer<typeof AppliedState>;

export class AppliedStateCorruptError extends AgentError {
  readonly code = 'applied-state-corrupt';
  constructor(path: string, detail: string) {
    super(`state file ${path} is unreadable (${detail}); delete it to make the agent fetch its desired state again`);
  }
}

export class AppliedStateStore {
  readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, 'applied.json');
  }

  async load(): Promise<AppliedState | undefined> {
    const text = await readFileIfExists(this.path);
    if (text === undefined) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new AppliedStateCorruptError(this.path, (err as Error).message);
    }
    const parsed = AppliedState.safeParse(json);
    if (!parsed.success)
      throw new AppliedStateCorruptError(this.path, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    return parsed.data;
  }

  async save(state: AppliedState): Promise<void> {
    await writeFileAtomic(this.path, JSON.stringify(AppliedState.parse(state), null, 2) + '\n');
  }
}
