import { PipeTransform } from '@nestjs/common';
import { InvalidInputError } from '../domain-error';
import type { BodySchema } from './zod-body.pipe';

/** A zod object schema: its `shape` names every parameter the route takes. */
export interface QuerySchema<T> extends BodySchema<T> {
  readonly shape: object;
}

/**
 * Validates a route's query parameters with its shared zod schema (which coerces numbers from
 * text), strictly: a parameter the schema does not name is a 400 naming it, as an unknown body
 * field is, never silently ignored (`?fleetid=` for `?fleetId=` listed every device). So a route
 * has one such pipe, with the route table's whole query schema (filters and paging merged).
 */
export class ZodQueryPipe<T> implements PipeTransform<unknown, T> {
  private readonly known: ReadonlySet<string>;

  constructor(readonly schema: QuerySchema<T>) {
    this.known = new Set(Object.keys(schema.shape));
  }

  transform(value: unknown): T {
    const given = typeof value === 'object' && value !== null ? Object.keys(value) : [];
    const unknown = given.filter((name) => !this.known.has(name));
    if (unknown.length > 0) {
      const takes = this.known.size > 0 ? `it takes ${[...this.known].join(', ')}` : 'it takes none';
      throw new InvalidInputError(
        'invalid_query',
        'the query parameters are not valid',
        unknown.map((name) => ({ path: name, message: `unknown query parameter; ${takes}` })),
      );
    }
    const parsed = this.schema.safeParse(value ?? {});
    if (parsed.success) return parsed.data;
    throw new InvalidInputError(
      'invalid_query',
      'the query parameters are not valid',
      parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    );
  }
}
