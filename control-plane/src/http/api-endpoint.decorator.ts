import { applyDecorators, Delete, Get, HttpCode, Patch, Post, Put, SetMetadata } from '@nestjs/common';
import type { ApiRoute, HttpMethod } from '@flotilla/shared';
import { Public } from '../auth/public.decorator';
import { RequireRole } from '../auth/require-role.decorator';

export const API_ROUTE = 'flotilla:api-route';

const METHODS: Record<HttpMethod, (path: string) => MethodDecorator> = { get: Get, post: Post, put: Put, patch: Patch, delete: Delete };

/**
 * Binds a handler to its declared route (`@flotilla/shared`'s route tables): the path and method
 * Nest registers, the status of success, and the role the guard enforces all come from the one
 * declaration, which the OpenAPI document is generated from (openapi/registered-routes.ts). A
 * handler may still set another status at run time (201 created vs 200 replayed).
 */
export function ApiEndpoint(route: ApiRoute): MethodDecorator {
  return applyDecorators(
    METHODS[route.method](route.path),
    HttpCode(route.status),
    route.access === 'public' ? Public() : RequireRole(route.access),
    SetMetadata(API_ROUTE, route),
  );
}
