import type { DeviceLimits } from './device-limits';

export type BusyLimits = Pick<DeviceLimits, 'busyConnectsInFlight' | 'busyQueuedWrites'>;

/** What the control plane has on its hands when a device asks to connect. */
export interface ServerLoad {
  /** Logins begun and not answered yet (each waits for its credential check). */
  connectsInFlight: number;
  /** Device writes (presence, reports, last-seen) queued or in flight to the database. */
  queuedWrites: number;
}

/**
 * When a connect is answered "server busy" (CONNACK 3 with the documented retry delay,
 * SERVER_BUSY in @flotilla/shared) instead of being served: accepting more would only queue it
 * behind work already waiting, and the device is better off coming back later, spread out.
 * A limit of 0 is off. Pure: the caller measures.
 */
export function busyReason(load: ServerLoad, limits: BusyLimits): string | undefined {
  if (limits.busyConnectsInFlight > 0 && load.connectsInFlight >= limits.busyConnectsInFlight) {
    return `${load.connectsInFlight} connects in flight (limit ${limits.busyConnectsInFlight})`;
  }
  if (limits.busyQueuedWrites > 0 && load.queuedWrites >= limits.busyQueuedWrites) {
    return `${load.queuedWrites} device writes queued (limit ${limits.busyQueuedWrites})`;
  }
  return undefined;
}
