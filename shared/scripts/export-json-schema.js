// Writes schema/*.schema.json from the compiled zod schemas (run after `npm run build`).
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { assemblyJsonSchema, boardSpecJsonSchema } = require('../dist');

for (const [file, schema] of [
  ['assembly.schema.json', assemblyJsonSchema()],
  ['board-spec.schema.json', boardSpecJsonSchema()],
]) {
  writeFileSync(join(__dirname, '..', 'schema', file), JSON.stringify(schema, null, 2) + '\n');
  console.log(`wrote shared/schema/${file}`);
}
