import { route } from '../route';

/** The routes of `control-plane/src/health/health.controller.ts`. */
export const HEALTH_ROUTES = {
  check: route({
    method: 'get',
    path: '/healthz',
    tag: 'operations',
    summary: 'Liveness: database and broker up or down; no fleet figures (those are on /metrics, behind a key)',
    access: 'public',
    status: 200,
    errors: [{ status: 503, description: 'a dependency is down' }],
  }),
};
