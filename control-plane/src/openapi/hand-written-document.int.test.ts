import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { API_ROUTES } from '@flotilla/shared';
import { buildOpenApiDocument, type OpenApiDocument } from './build-document';

/**
 * The OpenAPI document was hand-written (openapi/api-routes.ts) until the routes declared
 * themselves; `fixtures/openapi-hand-written.json` is that document as main served it then. The
 * generated one must keep every route it had, with the same contract: who may call it, its success
 * status, its parameters, and the schemas it takes and answers.
 */
type Operation = {
  'x-flotilla-role': string;
  parameters?: { name: string; in: string }[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
};

const operations = (doc: OpenApiDocument) =>
  new Map(Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([m, op]) => [`${m} ${path}`, op as Operation])));

const contract = (op: Operation) => ({
  role: op['x-flotilla-role'],
  parameters: (op.parameters ?? []).map((p) => `${p.in}:${p.name}`).sort(),
  requestBody: op.requestBody,
  responses: op.responses,
});

/** A body in a media type no parser reads is answered 415 (`http/body-parsers.ts`), documented on every route with a body since. */
const withoutAddedSince = (op: Operation): Operation => {
  const { '415': _unsupported, ...responses } = op.responses;
  return { ...op, responses };
};

describe('the generated OpenAPI document against the hand-written one it replaced', () => {
  let before: OpenApiDocument;
  const after = buildOpenApiDocument(API_ROUTES, '0.1.0');

  beforeAll(async () => {
    before = JSON.parse(await readFile(join(__dirname, 'fixtures', 'openapi-hand-written.json'), 'utf8')) as OpenApiDocument;
  });

  it('loses no route', () => {
    const now = operations(after);
    expect([...operations(before).keys()].filter((k) => !now.has(k))).toEqual([]);
    expect(operations(before).size).toBeGreaterThan(60);
  });

  it('keeps each route its role, status, parameters, body and answers', () => {
    const now = operations(after);
    for (const [key, op] of operations(before)) expect([key, contract(withoutAddedSince(now.get(key)!))]).toEqual([key, contract(op)]);
  });

  it('adds since only the generic 415 of a route that takes a body', () => {
    const now = operations(after);
    for (const [key, op] of operations(before)) {
      const added = Object.keys(now.get(key)!.responses).filter((status) => !(status in op.responses));
      expect([key, added]).toEqual([key, op.requestBody ? ['415'] : []]);
    }
  });

  it('describes the schemas those routes refer to as it did', () => {
    for (const [name, schema] of Object.entries(before.components.schemas)) {
      expect([name, after.components.schemas[name]]).toEqual([name, schema]);
    }
  });
});
