import { z } from 'zod';
import { RequestUuid } from './request-uuid';
import { CONFIG_KEY_PATTERN } from '../assembly/component';
import { UPDATE_PHASES } from '../protocol/messages/reported';
import { MAX_LOCK_DEFER_SECONDS } from '../protocol/update-policy';
import { WindowSchedule } from '../windows/maintenance-window';

/**
 * Fleets and per-device management. Configuration is a flat map of text values (what
 * `desired.config` carries): a device's effective configuration is its fleet's map with the
 * device's own overrides on top.
 */
export const ConfigMap = z.record(
  z.string().regex(CONFIG_KEY_PATTERN, 'a configuration key is an environment variable name'),
  z.string().max(4096),
);
export type ConfigMap = z.infer<typeof ConfigMap>;

/** How long a device certificate of the fleet is valid; devices renew at two thirds of it. */
export const DEFAULT_CERTIFICATE_VALIDITY_SECONDS = 90 * 24 * 3600;
const CertificateValiditySeconds = z
  .number()
  .int()
  .min(30)
  .max(10 * 365 * 24 * 3600);

/** `PUT /fleets/:id/certificate-validity`: certificates issued from now on (registrations and renewals) get it. */
export const SetCertificateValidityRequest = z.object({ certificateValiditySeconds: CertificateValiditySeconds }).strict();
export type SetCertificateValidityRequest = z.infer<typeof SetCertificateValidityRequest>;

const fleetName = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, "a fleet name is lower-case letters, digits, '_', '.', '-' (at most 63)");

export const CreateFleetRequest = z
  .object({
    name: fleetName,
    boards: z.array(z.string().min(1).max(64)).default([]),
    config: ConfigMap.default({}),
    // prefault: a default of a transformed type is not in its input JSON Schema; the default is an input.
    targetReleaseId: RequestUuid.nullable().prefault(null),
    certificateValiditySeconds: CertificateValiditySeconds.default(DEFAULT_CERTIFICATE_VALIDITY_SECONDS),
  })
  .strict();
export type CreateFleetRequest = z.infer<typeof CreateFleetRequest>;

export const FleetView = z.object({
  id: z.string(),
  name: z.string(),
  boards: z.array(z.string()),
  config: ConfigMap,
  targetReleaseId: z.string().nullable(),
  certificateValiditySeconds: z.number().int(),
  /** The longest an update lock may defer an update on the fleet's devices; null: no limit. */
  lockMaxDeferSeconds: z.number().int().nullable(),
  /** Weekly maintenance windows of its devices (each in its own time zone); null: none. */
  windows: WindowSchedule.nullable(),
  deviceCount: z.number().int(),
  createdAt: z.string(),
});
export type FleetView = z.infer<typeof FleetView>;

/** `PUT /fleets/:id/target`: every device of the fleet that is not pinned is assigned the release, in the background. */
export const SetFleetTargetRequest = z.object({ releaseId: RequestUuid }).strict();
export type SetFleetTargetRequest = z.infer<typeof SetFleetTargetRequest>;

/**
 * The background assignment of a fleet's target (`PUT /fleets/:id/target` answers 202 with it;
 * `GET /fleet-target-jobs/:id` follows it). It assigns the release to every unpinned device in
 * two steps, the first 128 devices then the rest, each committed on its own, and publishes their
 * desired states batch by batch, the first while the rest are assigned; it resumes after a
 * control-plane restart. A newer target for the same fleet supersedes it.
 */
export const FleetTargetJobView = z.object({
  id: z.string().uuid(),
  fleetId: z.string().uuid(),
  releaseId: z.string().uuid(),
  status: z.enum(['running', 'completed', 'superseded']),
  /** Devices whose desired release changed so far (it grows segment by segment); null until the first segment committed. */
  assigned: z.number().int().nullable(),
  /** Of those, how many have been handed their desired state (a device offline gets it on connect). */
  published: z.number().int(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type FleetTargetJobView = z.infer<typeof FleetTargetJobView>;

export const SetFleetTargetResponse = z.object({
  fleet: FleetView,
  job: FleetTargetJobView,
});
export type SetFleetTargetResponse = z.infer<typeof SetFleetTargetResponse>;

/** `PUT /fleets/:id/update-policy`: how long update locks may defer an update on the fleet's devices (null: no limit). */
export const SetFleetUpdatePolicyRequest = z
  .object({
    lockMaxDeferSeconds: z.number().int().positive().max(MAX_LOCK_DEFER_SECONDS).nullable(),
    /** Weekly maintenance windows in each device's time zone; absent: unchanged, null or []: none. */
    windows: WindowSchedule.nullable().optional(),
  })
  .strict();

/** `PUT /devices/:id/update-windows`: the device's own maintenance windows; null: its fleet's apply. */
export const SetUpdateWindowsRequest = z.object({ windows: WindowSchedule.nullable() }).strict();
export type SetUpdateWindowsRequest = z.infer<typeof SetUpdateWindowsRequest>;
export type SetFleetUpdatePolicyRequest = z.infer<typeof SetFleetUpdatePolicyRequest>;

/** `PUT /fleets/:id/config` and `PUT /devices/:id/config`: replaces the whole map. */
export const SetConfigRequest = z.object({ config: ConfigMap }).strict();
export type SetConfigRequest = z.infer<typeof SetConfigRequest>;

const tag = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:=-]{0,63}$/, "a tag is letters, digits, '_', '.', ':', '=', '-' (at most 64)");

/** `PUT /devices/:id/tags`: replaces the device's tags. */
export const SetTagsRequest = z.object({ tags: z.array(tag).max(64) }).strict();
export type SetTagsRequest = z.infer<typeof SetTagsRequest>;

/** `PUT /devices/:id/pin`: the device runs this release whatever its fleet targets. */
export const PinReleaseRequest = z.object({ releaseId: RequestUuid }).strict();
export type PinReleaseRequest = z.infer<typeof PinReleaseRequest>;

/** `PUT /devices/:id/fleet`: null takes the device out of any fleet. */
export const MoveDeviceRequest = z.object({ fleetId: RequestUuid.nullable() }).strict();
export type MoveDeviceRequest = z.infer<typeof MoveDeviceRequest>;

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');

/** Query of `GET /api/v1/devices`: all filters combine with AND. */
export const DeviceListQuery = z.object({
  fleetId: RequestUuid.optional(),
  tag: z.string().min(1).optional(),
  /** The status filter: `true` online, `false` offline. */
  online: flag.optional(),
  /** Unset: every device, decommissioned ones included (marked); `true`: only those; `false`: only active ones. */
  decommissioned: flag.optional(),
  /** Start of the device's name (case-insensitive) or id. */
  search: z.string().min(1).max(128).optional(),
  /** Devices pinned to this release. */
  pinnedReleaseId: RequestUuid.optional(),
  /** Devices that should run this release (their desired release). */
  releaseId: RequestUuid.optional(),
  /** The update phase the device last reported. */
  updatePhase: z.enum(UPDATE_PHASES).optional(),
});
export type DeviceListQuery = z.infer<typeof DeviceListQuery>;

export const DEFAULT_DEVICE_PAGE_LIMIT = 100;
export const MAX_DEVICE_PAGE_LIMIT = 1000;

/** `PageQuery` with the larger pages a fleet of 10,000 devices wants: oldest device first. */
export const DevicePageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_DEVICE_PAGE_LIMIT).default(DEFAULT_DEVICE_PAGE_LIMIT),
  cursor: z.string().min(1).max(512).optional(),
});
export type DevicePageQuery = z.infer<typeof DevicePageQuery>;
