import { TelemetryQuery, TelemetrySeries } from '../telemetry';
import { named, route } from '../route';

/** The routes of `control-plane/src/telemetry/telemetry.controller.ts`. */
export const TELEMETRY_ROUTES = {
  series: route({
    method: 'get',
    path: '/api/v1/devices/:id/telemetry',
    tag: 'devices',
    summary: 'Latest telemetry and a time range, optionally averaged per step seconds',
    access: 'viewer',
    query: TelemetryQuery,
    status: 200,
    response: named('TelemetrySeries', TelemetrySeries),
  }),
};
