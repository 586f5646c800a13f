import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assemblyJsonSchema, boardSpecJsonSchema } from './json-schema';

const committed = (file: string): unknown => JSON.parse(readFileSync(join(__dirname, '..', '..', 'schema', file), 'utf8'));

describe('exported JSON Schemas', () => {
  it('match the zod schemas (regenerate with `npm run build && node shared/scripts/export-json-schema.js`)', () => {
    expect(committed('assembly.schema.json')).toEqual(assemblyJsonSchema());
    expect(committed('board-spec.schema.json')).toEqual(boardSpecJsonSchema());
  });

  it('describe the Compose keys editors should complete', () => {
    const schema = assemblyJsonSchema() as { properties: { services: { additionalProperties: { properties: Record<string, unknown> } } } };
    expect(Object.keys(schema.properties.services.additionalProperties.properties)).toEqual(
      expect.arrayContaining(['image', 'environment', 'ports', 'volumes', 'healthcheck', 'depends_on', 'x-flotilla']),
    );
  });
});
