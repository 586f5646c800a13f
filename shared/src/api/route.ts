import type { z } from 'zod';

/**
 * One route of the API as its module declares it: method, path, who may call it, what it takes and
 * answers (the zod schemas that validate it), and its words for the OpenAPI document. The control
 * plane binds each to its handler (`@ApiEndpoint`), which registers the path, the status and the
 * role the guard enforces; the OpenAPI document is generated from the bound routes, and the typed
 * client (`./http-client`) takes its types from the same declarations.
 */
export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Who may call a route; `public` needs no key. Viewers read, operators change, admins also manage keys. */
export type RouteAccess = 'public' | 'viewer' | 'operator' | 'admin';

/** A schema with the name it gets under `components.schemas`. */
export interface NamedSchema<S extends z.ZodType = z.ZodType> {
  name: string;
  schema: S;
}

/** A body that is not JSON (YAML in, Prometheus text or HTML out), described in words. */
export interface MediaBody {
  mediaType: string;
  description: string;
}

export interface ApiRoute {
  method: HttpMethod;
  /** As the controllers write it: `/api/v1/rollouts/:id`. */
  path: string;
  tag: string;
  summary: string;
  description?: string;
  access: RouteAccess;
  body?: NamedSchema | MediaBody;
  query?: z.ZodType;
  headers?: readonly { name: string; description: string }[];
  /** The status of success. */
  status: number;
  response?: NamedSchema | MediaBody;
  /** Other answers worth knowing besides the generic 400/401/403/404. */
  errors?: readonly { status: number; description: string }[];
}

export function named<S extends z.ZodType>(name: string, schema: S): NamedSchema<S> {
  return { name, schema };
}

/** Declares a route, keeping its literal method, path and schema types for the typed client. */
export function route<const R extends ApiRoute>(declared: R): R {
  return declared;
}

/** `GET /api/v1/rollouts/:id`: how the typed client and the tests name a route. */
export type RouteKey<R extends ApiRoute> = `${Uppercase<R['method']>} ${R['path']}`;

export function routeKey<R extends ApiRoute>(r: R): RouteKey<R> {
  return `${r.method.toUpperCase()} ${r.path}` as RouteKey<R>;
}
