import { PipeTransform } from '@nestjs/common';
import { pathOfUnstorable, UNSTORABLE_TEXT_MESSAGE } from '@flotilla/shared';
import { InvalidInputError } from '../domain-error';

/** The slice of a zod schema the pipe needs, so this package does not depend on zod directly. */
export interface BodySchema<T> {
  safeParse(
    value: unknown,
  ): { success: true; data: T } | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };
}

/**
 * Validates a request body with a shared zod schema and hands the controller the parsed,
 * defaulted value. A missing body counts as `{}` so requests whose fields all have defaults
 * may be sent empty; only a truly missing one: a body no parser read never gets here
 * (`unparsedBodyGuard` answers it 415).
 */
export class ZodBodyPipe<T> implements PipeTransform<unknown, T> {
  constructor(readonly schema: BodySchema<T>) {}

  transform(value: unknown): T {
    const unstorableAt = pathOfUnstorable(value);
    if (unstorableAt !== undefined) {
      throw new InvalidInputError('invalid_request', 'the request body is not valid', [
        { path: unstorableAt, message: UNSTORABLE_TEXT_MESSAGE },
      ]);
    }
    const parsed = this.schema.safeParse(value ?? {});
    if (parsed.success) return parsed.data;
    throw new InvalidInputError(
      'invalid_request',
      'the request body is not valid',
      parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    );
  }
}
