/**
 * A failure of an operator's image tool (build, configure, flash): `code` is stable for
 * scripts, the message says what failed, on what, and what to do about it.
 */
export class ImageToolError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ImageToolError';
  }
}
