import { PipeTransform } from '@nestjs/common';
import { InvalidInputError } from '../domain-error';
import type { BodySchema } from './zod-body.pipe';

/** Validates query parameters with a shared zod schema (which coerces numbers from text). */
export class ZodQueryPipe<T> implements PipeTransform<unknown, T> {
  constructor(readonly schema: BodySchema<T>) {}

  transform(value: unknown): T {
    const parsed = this.schema.safeParse(value ?? {});
    if (parsed.success) return parsed.data;
    throw new InvalidInputError(
      'invalid_query',
      'the query parameters are not valid',
      parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    );
  }
}
