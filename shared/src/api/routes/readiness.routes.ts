import { route } from '../route';

/** The routes of `control-plane/src/health/readiness.controller.ts`. */
export const READINESS_ROUTES = {
  ready: route({
    method: 'get',
    path: '/readyz',
    tag: 'operations',
    summary: 'Readiness: database, migrations, broker',
    access: 'public',
    status: 200,
    errors: [{ status: 503, description: 'not ready' }],
  }),
  render: route({
    method: 'get',
    path: '/metrics',
    tag: 'operations',
    summary: 'Prometheus metrics',
    access: 'viewer',
    status: 200,
    response: { mediaType: 'text/plain', description: 'Prometheus text format 0.0.4' },
  }),
};
