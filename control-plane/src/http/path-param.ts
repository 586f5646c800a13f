import { Param, type PipeTransform } from '@nestjs/common';
import { PATH_PARAMETER_KINDS, type PathParameterKind } from '@flotilla/shared';
import { InvalidInputError } from '../domain-error';

export class InvalidPathParameterError extends InvalidInputError {
  constructor(name: string, expected: string) {
    super('invalid_path_parameter', `the path parameter "${name}" must be ${expected}`, [{ path: name, message: `expected ${expected}` }]);
  }
}

/**
 * Checks a path parameter's shape and hands it on; a UUID in lower case, as PostgreSQL writes it,
 * so that services comparing it with stored ids in memory (stream watchers, maps of counts or
 * policies by id) see one spelling: "A0…" and "a0…" name the same row. Other kinds are handed on
 * unchanged (their services keep their own normalizing).
 */
export class PathParamPipe implements PipeTransform<unknown, string> {
  constructor(
    private readonly name: string,
    readonly kind: PathParameterKind,
  ) {}

  transform(value: unknown): string {
    const { schema, expected } = PATH_PARAMETER_KINDS[this.kind];
    if (typeof value !== 'string' || !schema.safeParse(value).success) throw new InvalidPathParameterError(this.name, expected);
    return this.kind === 'uuid' ? value.toLowerCase() : value;
  }
}

/** `@PathParam('id', 'uuid') id: string`: every path parameter of the API is declared this way, never with a bare `@Param`. */
export function PathParam(name: string, kind: PathParameterKind): ParameterDecorator {
  return Param(name, new PathParamPipe(name, kind));
}
