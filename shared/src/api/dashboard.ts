import { z } from 'zod';
import { DASHBOARD_DEVICE_SORTS, DASHBOARD_DEVICE_STATUSES } from './dashboard-filters';
import { RequestUuid } from './request-uuid';

/** The dashboard's device list: search, filters, sort and offset pagination (a person jumps to page N). */
export const DashboardDeviceQuery = z.object({
  q: z.string().max(128).optional(),
  fleetId: RequestUuid.optional(),
  tag: z.string().min(1).max(64).optional(),
  status: z.enum(DASHBOARD_DEVICE_STATUSES).optional(),
  releaseId: RequestUuid.optional(),
  sort: z.enum(DASHBOARD_DEVICE_SORTS).default('name'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});
export type DashboardDeviceQuery = z.infer<typeof DashboardDeviceQuery>;

/** Answers of the dashboard's read routes under `/api/v1/dashboard` and its live events (also what the CLI reads). */
export const DashboardDeviceRow = z.object({
  id: z.string(),
  name: z.string(),
  board: z.string().nullable(),
  online: z.boolean(),
  lastSeenAt: z.string().nullable(),
  fleetId: z.string().nullable(),
  tags: z.array(z.string()),
  updatePhase: z.string().nullable(),
  /** The release on the device's active slot, as it reported. */
  releaseId: z.string().nullable(),
  releaseVersion: z.string().nullable(),
  desiredReleaseId: z.string().nullable(),
  lastFailure: z.string().nullable(),
  /** Its last update of the current desired rev was refused or rolled back. */
  failed: z.boolean(),
  decommissioned: z.boolean(),
});
export type DashboardDeviceRow = z.infer<typeof DashboardDeviceRow>;

export const DashboardDevicePage = z.object({
  items: z.array(DashboardDeviceRow),
  total: z.number().int(),
  offset: z.number().int(),
  limit: z.number().int(),
});
export type DashboardDevicePage = z.infer<typeof DashboardDevicePage>;

export const DashboardOverview = z.object({
  devices: z.object({
    total: z.number().int(),
    online: z.number().int(),
    offline: z.number().int(),
    updating: z.number().int(),
    failed: z.number().int(),
  }),
  /** Devices per active release, largest first. */
  releases: z.array(z.object({ releaseId: z.string().nullable(), label: z.string(), devices: z.number().int() })),
});
export type DashboardOverview = z.infer<typeof DashboardOverview>;

export const DeviceEventView = z.object({ at: z.string(), kind: z.string(), rev: z.number().int().nullable(), message: z.string() });
export type DeviceEventView = z.infer<typeof DeviceEventView>;

export const DeviceEventsQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) });
export type DeviceEventsQuery = z.infer<typeof DeviceEventsQuery>;

/** What the live stream sends: hints to re-read, never the data itself (the API stays the one source). */
export const LiveEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), at: z.string() }),
  z.object({
    type: z.literal('device'),
    id: z.string(),
    name: z.string(),
    online: z.boolean(),
    updatePhase: z.string().nullable(),
    created: z.boolean(),
  }),
  z.object({ type: z.literal('rollout'), id: z.string(), status: z.string(), currentPhase: z.number().int() }),
  z.object({ type: z.literal('release'), id: z.string() }),
]);
export type LiveEvent = z.infer<typeof LiveEvent>;
