import { z } from 'zod';
import { DashboardDevicePage, DashboardDeviceQuery, DashboardOverview, DeviceEventView, DeviceEventsQuery } from '../dashboard';
import { named, route } from '../route';

/** The routes of `control-plane/src/dashboard/dashboard.controller.ts`. */
export const DASHBOARD_ROUTES = {
  overview: route({
    method: 'get',
    path: '/api/v1/dashboard/overview',
    tag: 'dashboard',
    summary: 'Device counts (online, offline, updating, failed) and devices per active release',
    access: 'viewer',
    status: 200,
    response: named('DashboardOverview', DashboardOverview),
  }),
  devices: route({
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
  }),
  events: route({
    method: 'get',
    path: '/api/v1/dashboard/devices/:id/events',
    tag: 'dashboard',
    summary: "A device's event timeline, newest first",
    access: 'viewer',
    query: DeviceEventsQuery,
    status: 200,
    response: named('DeviceEventList', z.array(DeviceEventView)),
  }),
};
