import { z } from 'zod';

/** A schema the API documents; the control plane holds these without depending on zod itself. */
export type ApiSchema = z.ZodType;

/**
 * JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) of an API schema. `input` describes
 * what a client may send (defaults optional), `output` what the server answers.
 */
export function apiJsonSchema(schema: ApiSchema, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;
  return rest;
}
