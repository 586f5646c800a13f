import { ApiError, apiJsonSchema, named, type ApiRoute, type ApiSchema, type MediaBody, type NamedSchema } from '@flotilla/shared';

const ERROR_SCHEMA = named('ApiError', ApiError);

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  servers: { url: string }[];
  tags: { name: string }[];
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
  security: Record<string, string[]>[];
}

/** `/api/v1/rollouts/:id` → `/api/v1/rollouts/{id}` */
export function toOpenApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

const GENERIC_ERRORS: Record<number, string> = {
  400: 'invalid input: `issues` lists the fields at fault',
  401: 'no key, or an unknown or revoked key',
  403: "the key's role does not allow this",
  404: 'not found',
  415: 'the body is in a media type no parser reads (JSON, or YAML where a manifest is expected)',
};

/**
 * The OpenAPI 3.1 document of the API, from the routes the controllers bind (`@ApiEndpoint`, their
 * declarations in @flotilla/shared) and the shared zod schemas: what registers and guards a route,
 * and validates its input, is what documents it. Pure.
 */
export function buildOpenApiDocument(routes: readonly ApiRoute[], version: string): OpenApiDocument {
  const schemas: Record<string, unknown> = {};
  const ref = (n: NamedSchema, io: 'input' | 'output'): { $ref: string } => {
    // Requests are documented as input (defaults optional), answers as output; their names never overlap.
    schemas[n.name] ??= apiJsonSchema(n.schema, io);
    return { $ref: `#/components/schemas/${n.name}` };
  };
  const errorRef = ref(ERROR_SCHEMA, 'output');
  const paths: OpenApiDocument['paths'] = {};
  for (const r of routes) {
    const responses: Record<string, unknown> = {
      [String(r.status)]: { description: 'success', ...(r.response ? { content: content(r.response, 'output', ref) } : {}) },
    };
    const errorStatuses = new Map<number, string>();
    if (r.body || r.query) errorStatuses.set(400, GENERIC_ERRORS[400]!);
    if (r.body) errorStatuses.set(415, GENERIC_ERRORS[415]!);
    if (r.access !== 'public') {
      errorStatuses.set(401, GENERIC_ERRORS[401]!);
      errorStatuses.set(403, GENERIC_ERRORS[403]!);
    }
    if (r.path.includes(':')) errorStatuses.set(404, GENERIC_ERRORS[404]!);
    for (const e of r.errors ?? []) errorStatuses.set(e.status, e.description);
    for (const [status, description] of errorStatuses) {
      if (status === r.status) continue;
      responses[String(status)] = { description, content: { 'application/json': { schema: errorRef } } };
    }
    const parameters = [
      ...[...r.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } })),
      ...queryParameters(r.query),
      ...(r.headers ?? []).map((h) => ({
        name: h.name,
        in: 'header',
        required: false,
        description: h.description,
        schema: { type: 'string' },
      })),
    ];
    const operation: Record<string, unknown> = {
      tags: [r.tag],
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      operationId: operationId(r),
      'x-flotilla-role': r.access,
      ...(r.access === 'public' ? { security: [] } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(r.body ? { requestBody: { required: true, content: content(r.body, 'input', ref) } } : {}),
      responses,
    };
    (paths[toOpenApiPath(r.path)] ??= {})[r.method] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Flotilla control plane',
      version,
      description:
        'Operator API. Every route except those marked public needs `Authorization: Bearer <key>`; viewers may only read, ' +
        'operators change, admins also manage keys. Errors share one shape (ApiError). Lists page with `?limit&cursor`.',
    },
    servers: [{ url: '/' }],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas,
      securitySchemes: { operatorKey: { type: 'http', scheme: 'bearer', description: 'An operator API key (fok_…)' } },
    },
    security: [{ operatorKey: [] }],
  };
}

function content(
  body: NamedSchema | MediaBody,
  io: 'input' | 'output',
  ref: (n: NamedSchema, io: 'input' | 'output') => { $ref: string },
): Record<string, unknown> {
  if ('schema' in body) return { 'application/json': { schema: ref(body, io) } };
  return { [body.mediaType]: { schema: { type: 'string', description: body.description } } };
}

function queryParameters(query: ApiSchema | undefined): Record<string, unknown>[] {
  if (!query) return [];
  const json = apiJsonSchema(query, 'input') as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, schema]) => ({
    name,
    in: 'query',
    required: json.required?.includes(name) ?? false,
    schema,
  }));
}

function operationId(r: ApiRoute): string {
  const words = r.path
    .replace(/^\/api\/v1\//, '')
    .split('/')
    .filter(Boolean)
    .map((w) => (w.startsWith(':') ? `by-${w.slice(1)}` : w));
  return [r.method, ...words]
    .join('-')
    .replace(/[^A-Za-z0-9]+(.)/g, (_, c: string) => c.toUpperCase())
    .replace(/[^A-Za-z0-9]/g, '');
}
