import type { ApiSchema } from '@flotilla/shared';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** A schema with the name it gets under `components.schemas`. */
export interface NamedSchema {
  name: string;
  schema: ApiSchema;
}

export function named(name: string, schema: ApiSchema): NamedSchema {
  return { name, schema };
}

/** One documented operation. `path` is written as in the controllers (`/api/v1/rollouts/:id`). */
export interface RouteDoc {
  method: HttpMethod;
  path: string;
  tag: string;
  summary: string;
  description?: string;
  /** Who may call it; `public` needs no key. */
  access: 'public' | 'viewer' | 'operator' | 'admin';
  body?: NamedSchema | { mediaType: string; description: string };
  query?: ApiSchema;
  headers?: { name: string; description: string }[];
  status: number;
  response?: NamedSchema | { mediaType: string; description: string };
  /** Other answers worth knowing besides the generic 400/401/403/404. */
  errors?: { status: number; description: string }[];
}
