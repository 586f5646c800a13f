import { z } from 'zod';
import { WindowSchedule } from '../windows/maintenance-window';
import { count, storableString, storableTimestamp } from './storable';

/**
 * Update locks and their policy (issue 18). A component may hold an update lock ("not now": a
 * print job, a measurement); while any is held the agent verifies and downloads a new release
 * but does not switch to it. The control plane carries in `desired` how long a lock may defer
 * an update (the fleet's policy) and an operator's override (`force`), so an offline device
 * decides alone.
 */
/** Reported fields are stored as they come: bounded text and timestamps PostgreSQL can hold (storable.ts). */
const timestamp = storableTimestamp();
const name = storableString(64);

/** The longest a lock may be asked to defer an update, whatever a policy says: 30 days. */
export const MAX_LOCK_DEFER_SECONDS = 30 * 24 * 3600;

export const UpdatePolicy = z.object({
  /** Switch even while a component holds an update lock (an operator's override, per device or per rollout). */
  force: z.boolean().optional(),
  /** How long after the download a held lock may defer the switch; then the agent switches anyway. Absent: no limit. */
  lockMaxDeferSeconds: z.number().int().positive().max(MAX_LOCK_DEFER_SECONDS).optional(),
  /** Maintenance windows (the device's or else its fleet's), in the device's time zone: the switch waits for one. Absent: any time. */
  windows: WindowSchedule.optional(),
});
export type UpdatePolicy = z.infer<typeof UpdatePolicy>;

/** One held lock, as `reported.locks` shows it. */
export const UpdateLockStatus = z.object({
  component: name,
  /** Who holds it, in the holder's words (a lock file's `holder`, or the API request's). */
  holder: storableString(128),
  /** `file`: a lock file in the component's lock directory; `api`: through the lock socket. */
  via: z.enum(['file', 'api']),
  since: timestamp,
  expiresAt: timestamp,
  /** For a lock file: the process (in the component's container) that holds it. */
  pid: count().optional(),
});
export type UpdateLockStatus = z.infer<typeof UpdateLockStatus>;

/** Why a downloaded update waits instead of switching (`reported.update.deferred`). */
export const UpdateDeferral = z.object({
  waitingFor: z.enum(['lock', 'window']),
  /** When the wait began (the download was done and a lock was held). */
  since: timestamp,
  /** Components whose locks it waits for (none while it waits for a window). */
  components: z.array(name).max(64),
  /** Waiting for a window: when the next one opens. */
  opensAt: timestamp.optional(),
  /** When the fleet's policy lets the switch happen anyway; absent without a limit. */
  until: timestamp.optional(),
});
export type UpdateDeferral = z.infer<typeof UpdateDeferral>;
