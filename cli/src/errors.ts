/** Exit codes of `flotilla`: scripts branch on them. */
export const EXIT = {
  ok: 0,
  /** The API answered with an error, or could not be reached. */
  api: 1,
  /** The command line was wrong. */
  usage: 2,
  /** The device, release, fleet or rollout does not exist. */
  notFound: 3,
  /** No key, a wrong or revoked key, or a key without the role needed. */
  auth: 4,
  /** `rollouts watch`: the rollout ended aborted or rolled back. */
  rolloutFailed: 5,
} as const;

/** An error for the operator: what failed, and what to do about it. */
export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export const usage = (message: string, hint?: string) => new CliError(EXIT.usage, message, hint ?? 'see flotilla --help');
