import { z } from 'zod';
import { byteCount, count, percent, revision } from '../storable';
import { UpdateDeferral, UpdateLockStatus } from '../update-policy';
import { name, ref, schema, text, timestamp } from './fields';

export const COMPONENT_STATES = ['missing', 'created', 'running', 'restarting', 'exited', 'dead', 'paused'] as const;
export const HEALTH_STATES = ['none', 'starting', 'healthy', 'unhealthy'] as const;

export const ComponentStatus = z.object({
  name,
  image: ref,
  state: z.enum(COMPONENT_STATES),
  health: z.enum(HEALTH_STATES),
  containerId: name.optional(),
  restartCount: count().optional(),
});
export type ComponentStatus = z.infer<typeof ComponentStatus>;

/** The assembly A/B update's phases (docs/architecture.md, "The assembly A/B machine"). */
export const UPDATE_PHASES = ['idle', 'verify', 'fetch', 'switch', 'probation', 'commit', 'rollback'] as const;
export type UpdatePhase = (typeof UPDATE_PHASES)[number];

/** One A/B slot as reported: which desired rev and release it holds. */
export const SlotRef = z.object({
  rev: revision(),
  releaseId: name.nullable(),
  version: name.nullable(),
});
export type SlotRef = z.infer<typeof SlotRef>;

export const UpdateProgress = z.object({
  imagesDone: count(),
  imagesTotal: count(),
  bytesDone: byteCount(),
  /** 0 while the registry has not told the sizes yet. */
  bytesTotal: byteCount(),
  percent: percent(),
});
export type UpdateProgress = z.infer<typeof UpdateProgress>;

export const UpdateStatus = z.object({
  phase: z.enum(UPDATE_PHASES),
  /** The last committed assembly; what the device falls back to. */
  active: SlotRef.nullable(),
  /** The assembly on trial, from verify until commit or rollback. */
  candidate: SlotRef.nullable(),
  /** Highest rev that was refused or rolled back; not tried again until a newer rev. */
  failedRev: revision().nullable(),
  lastFailure: text.nullable(),
  progress: UpdateProgress.optional(),
  /** Downloaded, but waiting for components' update locks to be released before the switch. */
  deferred: UpdateDeferral.optional(),
});
export type UpdateStatus = z.infer<typeof UpdateStatus>;

/** The OS A/B update's phases (agent/src/os-update/os-update-plan.ts). */
export const OS_UPDATE_PHASES = ['idle', 'write', 'arm', 'reboot', 'trial', 'fall-back', 'commit'] as const;

export const OsStatus = z.object({
  /** FLOTILLA_OS_VERSION of the running root; null on an OS not built by `flotilla image build`. */
  version: name.nullable(),
  /** The root slot running now, and whether this boot is an uncommitted trial of it. */
  slot: z.enum(['A', 'B']).nullable(),
  inTrial: z.boolean(),
  phase: z.enum(OS_UPDATE_PHASES),
  /** The OS version being written or tried. */
  target: name.nullable(),
  lastFailure: text.nullable(),
  progress: z.object({ bytesDone: byteCount(), bytesTotal: byteCount(), percent: percent() }).optional(),
});
export type OsStatus = z.infer<typeof OsStatus>;

export const Reported = z.object({
  schema,
  at: timestamp,
  agentVersion: name,
  /** The highest desired `rev` the agent holds (active, on trial, queued or refused). */
  rev: revision(),
  update: UpdateStatus,
  components: z.array(ComponentStatus).max(256),
  /** Absent on a device whose OS cannot be updated by Flotilla (no A/B root slots). */
  os: OsStatus.optional(),
  /** Update locks held now, by which component, since when. Absent when none. */
  locks: z.array(UpdateLockStatus).max(64).optional(),
});
export type Reported = z.infer<typeof Reported>;

/**
 * `/run/flotilla/status.json` on the device: the reported state plus who and what the device
 * is, for apps on the board (origin's device-status page) that must work without the cloud.
 */
export const LocalStatus = Reported.extend({
  deviceId: z.string(),
  board: z.string().nullable(),
  /** Whether the agent reaches the control plane right now. */
  connected: z.boolean(),
  /** The assembly the active slot runs; null before the first release. */
  assembly: z.object({ name: z.string(), version: z.string(), releaseId: z.string() }).nullable(),
});
export type LocalStatus = z.infer<typeof LocalStatus>;
