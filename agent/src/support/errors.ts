/**
 * Base of every error the agent raises on purpose. `code` is stable (logs, events and
 * tests match on it); `terminal` says whether trying again can help: a terminal error
 * (bad token, image that does not exist, health gate failed) waits for a newer desired
 * state, anything else is retried with backoff.
 */
export abstract class AgentError extends Error {
  abstract readonly code: string;
  readonly terminal: boolean;

  constructor(message: string, options: { terminal?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.terminal = options.terminal ?? false;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function isTerminal(err: unknown): boolean {
  return err instanceof AgentError && err.terminal;
}
