import { API_ROUTES } from '@flotilla/shared';
import { buildOpenApiDocument, toOpenApiPath } from './build-document';

describe('buildOpenApiDocument', () => {
  const doc = buildOpenApiDocument(API_ROUTES, '0.1.0');

  it('is OpenAPI 3.1 with one operation per documented route and unique operation ids', () => {
    expect(doc.openapi).toBe('3.1.0');
    const ops = Object.values(doc.paths).flatMap((p) => Object.values(p) as { operationId: string }[]);
    expect(ops).toHaveLength(API_ROUTES.length);
    expect(new Set(ops.map((o) => o.operationId)).size).toBe(ops.length);
  });

  it('refers only to schemas it defines, generated from the shared zod schemas', () => {
    const refs = [...JSON.stringify(doc).matchAll(/"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    for (const name of refs) expect(doc.components.schemas[name]).toBeDefined();
    expect(doc.components.schemas.CreateRolloutRequest).toMatchObject({
      type: 'object',
      properties: expect.objectContaining({ releaseId: expect.anything() }),
    });
    expect(doc.components.schemas.ApiError).toMatchObject({ required: expect.arrayContaining(['statusCode', 'code', 'message']) });
  });

  it('documents path parameters, query parameters, the idempotency header and public routes', () => {
    const get = doc.paths['/api/v1/rollouts/{id}']!.get as { parameters: { name: string; in: string }[] };
    expect(get.parameters).toEqual([expect.objectContaining({ name: 'id', in: 'path' })]);
    const list = doc.paths['/api/v1/rollouts']!.get as { parameters: { name: string }[] };
    expect(list.parameters.map((p) => p.name)).toEqual(expect.arrayContaining(['status', 'limit', 'cursor']));
    const create = doc.paths['/api/v1/rollouts']!.post as { parameters: { name: string; in: string }[] };
    expect(create.parameters).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header' }));
    expect(doc.paths['/api/v1/devices/register']!.post).toMatchObject({ security: [] });
  });

  it('writes express paths as OpenAPI templates', () => {
    expect(toOpenApiPath('/api/v1/releases/:id/diff/:otherId')).toBe('/api/v1/releases/{id}/diff/{otherId}');
  });
});
