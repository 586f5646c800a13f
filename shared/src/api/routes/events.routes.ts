import { route } from '../route';

/** The routes of `control-plane/src/dashboard/events.controller.ts`. */
export const EVENTS_ROUTES = {
  stream: route({
    method: 'get',
    path: '/api/v1/events/stream',
    tag: 'dashboard',
    summary: 'Server-sent events: device, rollout and release changes (hints to re-read)',
    description:
      'Events `hello`, `device` {id, name, online, updatePhase, created}, `rollout` {id, status, currentPhase}, `release` {id}. Read it with fetch and the Authorization header.',
    access: 'viewer',
    status: 200,
    response: { mediaType: 'text/event-stream', description: 'one `event:`/`data:` pair per change' },
  }),
};
