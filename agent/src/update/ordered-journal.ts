import { backoffMs, type Clock } from '../support/clock';
import { errorMessage } from '../support/errors';
import type { Logger } from '../support/logger';
import type { UpdateState } from './machine';

/**
 * The update journal's writes, in the order the states were reached. A write that fails is
 * retried until it succeeds: acting on a state the journal does not hold would break crash
 * safety, so the updater waits on `written()` before it acts.
 */
export class OrderedJournal {
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: { write(state: UpdateState): Promise<void> },
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  write(state: UpdateState): void {
    this.tail = this.tail.then(() => this.writeUntilStored(state));
  }

  /** Resolves when every state written so far is stored, including ones written meanwhile. */
  async written(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.tail;
      await seen;
    } while (seen !== this.tail);
  }

  private async writeUntilStored(state: UpdateState): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.file.write(state);
      } catch (err) {
        this.logger.error('cannot write the update journal', { error: errorMessage(err) });
        await this.clock.sleep(backoffMs(attempt, 1_000, 30_000));
      }
    }
  }
}
