import { z } from 'zod';
import { RequestUuid } from './request-uuid';
import { isValidDeviceId } from '../protocol/topics';

/**
 * Phased rollouts (after hawkBit's rollout groups, AWS IoT Jobs' abort criteria and Mender's
 * phased deployments): move a selection of devices to a release phase by phase, advancing on a
 * success threshold and pausing or aborting on a failure threshold.
 */
export const ROLLOUT_STATUSES = ['running', 'waiting', 'paused', 'completed', 'aborted', 'rolled-back'] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];
/** Statuses in which the engine still looks at the rollout. */
export const ACTIVE_ROLLOUT_STATUSES = ['running', 'waiting', 'paused'] as const satisfies readonly RolloutStatus[];

export const ROLLOUT_DEVICE_STATES = ['pending', 'updating', 'succeeded', 'failed'] as const;
export type RolloutDeviceState = (typeof ROLLOUT_DEVICE_STATES)[number];

/**
 * Most device ids a rollout request lists: in its selection, and in its phases all together (the
 * devices no phase lists go to the last one). With the ids' own bound, this sizes the largest
 * JSON body of the API (`MAX_JSON_BODY_BYTES`).
 */
export const MAX_ROLLOUT_DEVICE_IDS = 10_000;
/** The longest device id (`isValidDeviceId`: 1-64 of A-Z, a-z, 0-9, "_", "-"). */
export const MAX_DEVICE_ID_LENGTH = 64;

const deviceId = z
  .string()
  .min(1)
  .max(MAX_DEVICE_ID_LENGTH)
  .refine(isValidDeviceId, { message: 'a device id: 1-64 of A-Z, a-z, 0-9, "_", "-"' });

export const RolloutSelection = z
  .object({
    fleetId: RequestUuid.optional(),
    /** A device must carry every tag listed. (Decommissioned and pinned devices are never selected.) */
    tags: z.array(z.string().min(1).max(64)).max(32).optional(),
    deviceIds: z.array(deviceId).max(MAX_ROLLOUT_DEVICE_IDS).optional(),
  })
  .strict()
  .refine((s) => s.fleetId !== undefined || (s.tags?.length ?? 0) > 0 || (s.deviceIds?.length ?? 0) > 0, {
    message: 'select devices by fleetId, tags or deviceIds (criteria combine with AND)',
  });
export type RolloutSelection = z.infer<typeof RolloutSelection>;

const percent = z.number().min(0).max(100);

/**
 * One phase. Its size is exactly one of: `count` devices (a canary), `percent` of the selection
 * (cumulative: phases at 10 then 50 reach 10 % then 50 % of all devices), or explicit
 * `deviceIds`. The last phase always takes every device not yet placed.
 */
export const RolloutPhaseSpec = z
  .object({
    name: z.string().min(1).max(64).optional(),
    count: z.number().int().min(1).optional(),
    percent: z.number().gt(0).max(100).optional(),
    deviceIds: z.array(deviceId).min(1).optional(),
    /** Percent of the phase's devices that must succeed before the next phase starts. */
    successThreshold: percent.default(100),
    /** Percent of the phase's devices that may fail; one more triggers `onFailure`. */
    failureThreshold: percent.default(0),
    onFailure: z.enum(['pause', 'abort']).default('pause'),
  })
  .strict()
  .refine((p) => [p.count, p.percent, p.deviceIds].filter((x) => x !== undefined).length <= 1, {
    message: 'give at most one of count, percent, deviceIds',
  });
export type RolloutPhaseSpec = z.infer<typeof RolloutPhaseSpec>;

export const CreateRolloutRequest = z
  .object({
    releaseId: RequestUuid,
    name: z.string().min(1).max(128).optional(),
    selection: RolloutSelection,
    phases: z
      .array(RolloutPhaseSpec)
      .min(1)
      .max(20)
      .default([{ percent: 100, successThreshold: 100, failureThreshold: 0, onFailure: 'pause' }])
      .refine((phases) => phases.reduce((n, p) => n + (p.deviceIds?.length ?? 0), 0) <= MAX_ROLLOUT_DEVICE_IDS, {
        message: `phases list at most ${MAX_ROLLOUT_DEVICE_IDS} device ids in all; the last phase takes the devices no phase lists`,
      }),
    /** `auto`: next phase as soon as the success threshold is met; `manual`: wait for POST …/advance. */
    advance: z.enum(['auto', 'manual']).default('auto'),
    /**
     * Override the update locks of the rollout's devices (`desired.updatePolicy.force`): they
     * switch even while a component holds a lock. Default: a held lock defers the switch.
     */
    force: z.boolean().optional(),
    /** A device that neither commits nor rolls back within this time counts as failed. */
    deviceTimeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 3600)
      .default(1800),
  })
  .strict();
export type CreateRolloutRequest = z.infer<typeof CreateRolloutRequest>;

export const RolloutPlanRequest = CreateRolloutRequest;
export type RolloutPlanRequest = CreateRolloutRequest;

export const RolloutCounts = z.object({
  devices: z.number().int(),
  pending: z.number().int(),
  updating: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  /** Of `failed`, those an operator accepted (by resume or advance): the thresholds no longer count them. */
  accepted: z.number().int(),
  /** Of `updating`, those whose download is done and whose switch waits for an update lock: not failed, and not timing out. */
  waiting: z.number().int(),
});
export type RolloutCounts = z.infer<typeof RolloutCounts>;

export const RolloutPhaseView = z.object({
  index: z.number().int(),
  name: z.string(),
  successThreshold: z.number(),
  failureThreshold: z.number(),
  onFailure: z.enum(['pause', 'abort']),
  progress: RolloutCounts,
});
export type RolloutPhaseView = z.infer<typeof RolloutPhaseView>;

export const RolloutView = z.object({
  id: z.string(),
  name: z.string(),
  releaseId: z.string(),
  status: z.enum(ROLLOUT_STATUSES),
  /** Why it paused, aborted or waits, in words. */
  statusReason: z.string().nullable(),
  advance: z.enum(['auto', 'manual']),
  currentPhase: z.number().int(),
  deviceTimeoutSeconds: z.number().int(),
  /** Created with `force`: the devices' update locks are overridden. */
  force: z.boolean(),
  selection: z.object({
    fleetId: z.string().optional(),
    tags: z.array(z.string()).optional(),
    deviceIds: z.array(z.string()).optional(),
  }),
  phases: z.array(RolloutPhaseView),
  totals: RolloutCounts,
  /**
   * Who accepted which failures and when, newest first: one entry per resume or advance that
   * accepted any. `deviceIds` lists up to 100 of them (`count` is all); the rest are in
   * `GET …/devices?state=failed`, each with its `acceptedBy` and `acceptedAt`.
   */
  acceptances: z.array(
    z.object({ acceptedBy: z.string(), acceptedAt: z.string(), count: z.number().int(), deviceIds: z.array(z.string()) }),
  ),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type RolloutView = z.infer<typeof RolloutView>;

export const RolloutDeviceView = z.object({
  deviceId: z.string(),
  phase: z.number().int(),
  state: z.enum(ROLLOUT_DEVICE_STATES),
  /** Why it failed: the device's own `lastFailure`, or a timeout. */
  reason: z.string().nullable(),
  assignedRev: z.number().int().nullable(),
  assignedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  previousReleaseId: z.string().nullable(),
  /** Joined the selection after the rollout started. */
  joined: z.boolean(),
  /** While updating: what the device's switch waits for (`lock`: a component holds an update lock). */
  waitingFor: z.enum(['lock', 'window']).nullable(),
  /** For a failure an operator accepted: the principal (operator key id) and when. */
  acceptedBy: z.string().nullable(),
  acceptedAt: z.string().nullable(),
});
export type RolloutDeviceView = z.infer<typeof RolloutDeviceView>;

export const RolloutListQuery = z.object({
  status: z.enum(ROLLOUT_STATUSES).optional(),
  releaseId: RequestUuid.optional(),
});
export type RolloutListQuery = z.infer<typeof RolloutListQuery>;

export const ComponentChange = z.object({
  component: z.string(),
  change: z.enum(['added', 'removed', 'image', 'settings']),
  fromImage: z.string().nullable(),
  toImage: z.string().nullable(),
});
export type ComponentChange = z.infer<typeof ComponentChange>;

export const RolloutPlanDevice = z.object({
  deviceId: z.string(),
  name: z.string(),
  phase: z.number().int(),
  currentReleaseId: z.string().nullable(),
  currentVersion: z.string().nullable(),
  targetVersion: z.string(),
  alreadyOnTarget: z.boolean(),
  changes: z.array(ComponentChange),
  /** Images the device lacks for the target (by reference). */
  imagesToFetch: z.array(z.string()),
  /** The OS image the target carries for the device's board, when it runs another OS version. */
  osImage: z.object({ version: z.string(), sizeBytes: z.number() }).nullable(),
  /**
   * The device's maintenance window for the switch, in its time zone (from its inventory; UTC
   * until it reported one): open now until `closesAt`, or opening at `opensAt`. Null: no windows.
   */
  nextWindow: z.object({ open: z.boolean(), opensAt: z.string().nullable(), closesAt: z.string(), timeZone: z.string() }).nullable(),
  /** Images (for the device's architecture) plus the OS image; null when a registry did not tell a size (see `notes`). */
  downloadBytes: z.number().nullable(),
  /**
   * The same with binary layer deltas, where one is computed from the image the device runs
   * (`flotilla delta`, or the first device that asks); null when `downloadBytes` is.
   */
  deltaDownloadBytes: z.number().nullable(),
});
export type RolloutPlanDevice = z.infer<typeof RolloutPlanDevice>;

export const RolloutPlan = z.object({
  releaseId: z.string(),
  targetVersion: z.string(),
  phases: z.array(z.object({ index: z.number().int(), name: z.string(), devices: z.number().int() })),
  devices: z.array(RolloutPlanDevice),
  /** The sum over the devices whose download is known. */
  downloadBytes: z.number().nullable(),
  /** The same with the deltas computed so far. */
  deltaDownloadBytes: z.number().nullable(),
  notes: z.array(z.string()),
});
export type RolloutPlan = z.infer<typeof RolloutPlan>;

export const RolloutDevicesQuery = z.object({ state: z.enum(ROLLOUT_DEVICE_STATES).optional() });
export type RolloutDevicesQuery = z.infer<typeof RolloutDevicesQuery>;
