import { route } from '../route';

/** The routes of `control-plane/src/openapi/openapi.controller.ts`. */
export const OPEN_API_ROUTES = {
  openapi: route({
    method: 'get',
    path: '/api/v1/openapi.json',
    tag: 'operations',
    summary: 'This document',
    access: 'public',
    status: 200,
    response: { mediaType: 'application/json', description: 'OpenAPI 3.1' },
  }),
  docs: route({
    method: 'get',
    path: '/api/docs',
    tag: 'operations',
    summary: 'Interactive API documentation',
    access: 'public',
    status: 200,
    response: { mediaType: 'text/html', description: 'HTML page' },
  }),
};
