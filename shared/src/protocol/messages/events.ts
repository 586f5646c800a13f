import { z } from 'zod';
import { revision } from '../storable';
import { name, schema, text, timestamp } from './fields';
import { UPDATE_PHASES } from './reported';

export const EVENT_KINDS = [
  'apply-started',
  'apply-succeeded',
  'apply-failed',
  'component-started',
  'component-stopped',
  'invalid-desired',
  'desired-refused',
  'update-phase',
  'update-committed',
  'update-refused',
  'update-rolled-back',
  /** An expired or stale update lock was removed (update-locks, issue 18). */
  'update-lock-released',
  /** Switched while a lock was held: forced by an operator, or the fleet's longest deferral ran out. */
  'update-lock-overridden',
  /** An image was rebuilt from binary layer deltas (agent/src/delta), with the bytes it took. */
  'update-delta-applied',
  /** A delta was missing, failed or did not rebuild the release's exact layer: a full pull follows. */
  'update-delta-fallback',
  'component-restarted',
  'command',
  'outbox-overflow',
  'release-key-added',
  'release-key-refused',
  'os-update-started',
  'os-update-committed',
  'os-update-failed',
  'agent-update-started',
  'agent-update-committed',
  'agent-update-failed',
  /** Recorded by the control plane: messages of the device dropped over its quota (control-plane README, "Limits"). */
  'quota-exceeded',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/**
 * Kinds only the control plane records about a device, which the uplink therefore refuses: a device
 * could otherwise forge them (a `quota-exceeded` it never had). The control plane also records
 * `message-not-stored` (control-plane/src/database/rejected-writes.ts), which the uplink refuses
 * already, being none of EVENT_KINDS (the API lists it as any other string).
 */
export const CONTROL_PLANE_EVENT_KINDS = ['quota-exceeded'] as const satisfies readonly EventKind[];
export const DeviceEvent = z.object({
  schema,
  /**
   * Chosen by the device when the event happens (a random UUID) and kept through its outbox, so a
   * copy sent again (a QoS 1 resend, a broker redelivery to another replica, a retried batch) is
   * stored once: the control plane keeps one row per device and id. Optional: agents older than
   * it send none, and their events are stored as before.
   */
  id: z.string().uuid().optional(),
  at: timestamp,
  /** A device's own kinds only (CONTROL_PLANE_EVENT_KINDS excluded). */
  kind: z.enum(EVENT_KINDS).exclude(CONTROL_PLANE_EVENT_KINDS),
  rev: revision().optional(),
  releaseId: name.optional(),
  phase: z.enum(UPDATE_PHASES).optional(),
  message: text,
});
export type DeviceEvent = z.infer<typeof DeviceEvent>;
/** An event as a device's history holds it: the device's own, or one the control plane records about it. */
export type RecordedEvent = Omit<DeviceEvent, 'kind'> & { kind: EventKind };
