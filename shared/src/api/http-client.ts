import type { z } from 'zod';
import type { ApiRoutes } from './routes';

/**
 * A typed client of the API for TypeScript users (the CLI, the dashboard, scripts): a route is
 * named by its key (`'POST /api/v1/rollouts/:id/pause'`), and its path parameters, query, body and
 * answer are typed from the route's declaration (`./routes`). Nothing of the declarations is
 * imported at run time (types only), so a browser bundle of this file stays a few hundred bytes.
 */
export type ApiRouteKey = keyof ApiRoutes;

/** `/api/v1/releases/:id/diff/:otherId` → `'id' | 'otherId'` */
type ParamNames<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | ParamNames<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : never;

type SchemaOf<S> = S extends { schema: infer Z extends z.ZodType } ? Z : never;
type BodyOf<R> = R extends { body: infer B } ? ([SchemaOf<B>] extends [never] ? string : z.input<SchemaOf<B>>) : undefined;
type QueryOf<R> = R extends { query: infer Q extends z.ZodType } ? z.input<Q> : undefined;

/** What a route answers: its schema's output, text for non-JSON answers, nothing when it declares none. */
export type ApiResponse<K extends ApiRouteKey> = ApiRoutes[K] extends { response: infer S }
  ? [SchemaOf<S>] extends [never]
    ? S extends { mediaType: 'application/json' }
      ? unknown
      : string
    : z.output<SchemaOf<S>>
  : unknown;

type Optional<Name extends string, T> = [T] extends [undefined] ? { [N in Name]?: never } : { [N in Name]: T };

/** Path parameters, query and body of a call, as the route declares them. */
export type ApiRequest<K extends ApiRouteKey> = Optional<
  'params',
  [ParamNames<K & string>] extends [never] ? undefined : Record<ParamNames<K & string>, string>
> &
  ([QueryOf<ApiRoutes[K]>] extends [undefined] ? { query?: never } : { query?: QueryOf<ApiRoutes[K]> }) &
  Optional<'body', BodyOf<ApiRoutes[K]>> & { headers?: Record<string, string> };

/** The arguments after the route: the request, optional when the route needs nothing. */
export type ApiCallArgs<K extends ApiRouteKey> =
  Partial<ApiRequest<K>> extends ApiRequest<K> ? [request?: ApiRequest<K>] : [request: ApiRequest<K>];

/** The API answered other than 2xx; `body` is its error (`{ statusCode, code, message, issues? }`) when it sent JSON. */
export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly body: { code?: string; message?: string; issues?: { path: string; message: string }[] },
    readonly route: string,
  ) {
    super(body.message ?? `HTTP ${status}`);
    this.name = 'ApiRequestError';
  }
}

export interface ApiClientOptions {
  /** Where the API is (`http://127.0.0.1:3000`); empty for the page's own origin. */
  baseUrl?: string;
  /** The operator key to send, read at each call; none sends no Authorization header. */
  key?: () => string | null | undefined;
  fetch?: typeof fetch;
}

export interface ApiClient {
  call<K extends ApiRouteKey>(route: K, ...args: ApiCallArgs<K>): Promise<ApiResponse<K>>;
}

export function createApiClient(options: ApiClientOptions = {}): ApiClient {
  const doFetch = options.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
  return {
    async call<K extends ApiRouteKey>(route: K, ...[request]: ApiCallArgs<K>): Promise<ApiResponse<K>> {
      const req = (request ?? {}) as { params?: Record<string, string>; query?: object; body?: unknown; headers?: Record<string, string> };
      const space = route.indexOf(' ');
      const method = route.slice(0, space);
      const path = route.slice(space + 1).replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => {
        const value = req.params?.[name];
        if (value === undefined) throw new TypeError(`${route}: path parameter "${name}" is missing`);
        return encodeURIComponent(value);
      });
      const headers: Record<string, string> = {};
      const key = options.key?.();
      if (key) headers.authorization = `Bearer ${key}`;
      let body: string | undefined;
      // The API's only text bodies are YAML (assemblies, component manifests).
      if (typeof req.body === 'string') {
        headers['content-type'] = 'application/yaml';
        body = req.body;
      } else if (req.body !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(req.body);
      }
      const res = await doFetch(`${options.baseUrl ?? ''}${path}${queryString(req.query)}`, {
        method,
        headers: { ...headers, ...req.headers },
        ...(body === undefined ? {} : { body }),
      });
      const text = await res.text();
      const json = res.headers.get('content-type')?.includes('json') ?? false;
      if (!res.ok) throw new ApiRequestError(res.status, errorBody(text, json, res.statusText), route);
      return (json ? (text ? JSON.parse(text) : undefined) : text) as ApiResponse<K>;
    },
  };
}

/** `?a=1&b=x`, leaving out what is unset (undefined, null, ''); arrays repeat the name. */
export function queryString(query: object | undefined): string {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined && v !== null && v !== '') q.append(name, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

function errorBody(text: string, json: boolean, statusText: string): ApiRequestError['body'] {
  if (json) {
    try {
      return JSON.parse(text) as ApiRequestError['body'];
    } catch {
      // fall through: a proxy's error page mislabelled as JSON
    }
  }
  return { message: text || statusText };
}

export { SseFrames } from './sse-frames';
