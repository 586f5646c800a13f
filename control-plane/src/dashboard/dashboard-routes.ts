import type { RouteDoc } from '../openapi/route-doc';
import { named } from '../openapi/route-doc';
import { DashboardDevicePage, DashboardOverview, DeviceEventView, DeviceEventsQuery } from '@flotilla/shared';
import { DashboardDeviceQuery } from './device-query';
import { z } from 'zod';

/** The dashboard module's routes, for the OpenAPI document. */
export const DASHBOARD_ROUTES: readonly RouteDoc[] = [
  {
    method: 'get',
    path: '/api/v1/dashboard/overview',
    tag: 'dashboard',
    summary: 'Device counts (online, offline, updating, failed) and devices per active release',
    access: 'viewer',
    status: 200,
    response: named('DashboardOverview', DashboardOverview),
  },
  {
    method: 'get',
    path: '/api/v1/dashboard/devices',
    tag: 'dashboard',
    summary: 'Search, filter, sort and page devices (offset pagination with the total)',
    description:
      '`q` matches name or id; `status` is online|offline|updating|failed|decommissioned; `sort` name|lastSeen|created, `-` for descending.',
    access: 'viewer',
    query: DashboardDeviceQuery,
    status: 200,
    response: named('DashboardDevicePage', DashboardDevicePage),
  },
  {
    method: 'get',
    path: '/api/v1/dashboard/devices/:id/events',
    tag: 'dashboard',
    summary: "A device's event timeline, newest first",
    access: 'viewer',
    query: DeviceEventsQuery,
    status: 200,
    response: named('DeviceEventList', z.array(DeviceEventView)),
  },
  {
    method: 'get',
    path: '/api/v1/events/stream',
    tag: 'dashboard',
    summary: 'Server-sent events: device, rollout and release changes (hints to re-read)',
    description:
      'Events `hello`, `device` {id, name, online, updatePhase, created}, `rollout` {id, status, currentPhase}, `release` {id}. Read it with fetch and the Authorization header.',
    access: 'viewer',
    status: 200,
    response: { mediaType: 'text/event-stream', description: 'one `event:`/`data:` pair per change' },
  },
];
