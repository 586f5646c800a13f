import type { DeviceLimits } from './device-limits';

export type BusyLimits = Pick<DeviceLimits, 'busyConnectsInFlight' | 'busyQueuedWrites' | 'busyWriteLagMs'>;

/** What the control plane has on its hands when a device asks to connect. */
export interface ServerLoad {
  /** Logins begun and not answered yet (each waits for its credential check). */
  connectsInFlight: number;
  /** Device writes (presence, reports, last-seen) queued or in flight to the database. */
  queuedWrites: number;
  /** How long the oldest of them has waited (ms): how far the database is behind. */
  writeLagMs: number;
}

/**
 * When a connect is answered "server busy" (CONNACK 3 with the documented retry delay,
 * SERVER_BUSY in @flotilla/shared) instead of being served: accepting more would only queue it
 * behind work already waiting, and the device is better off coming back later, spread out.
 * The database's backlog is judged by its age first: writes are coalesced, so 20,000 queued can
 * be two statements a second away (a 10,000-device storm queues a presence and a report each),
 * while one write waiting for seconds is a database that has fallen behind. The count stays
 * as a bound on memory. A limit of 0 is off. Pure: the caller measures.
 */
export function busyReason(load: ServerLoad, limits: BusyLimits): string | undefined {
  if (limits.busyConnectsInFlight > 0 && load.connectsInFlight >= limits.busyConnectsInFlight) {
    return `${load.connectsInFlight} connects in flight (limit ${limits.busyConnectsInFlight})`;
  }
  if (limits.busyWriteLagMs > 0 && load.writeLagMs >= limits.busyWriteLagMs) {
    return `device writes ${(load.writeLagMs / 1000).toFixed(1)} s behind (limit ${limits.busyWriteLagMs / 1000} s)`;
  }
  if (limits.busyQueuedWrites > 0 && load.queuedWrites >= limits.busyQueuedWrites) {
    return `${load.queuedWrites} device writes queued (limit ${limits.busyQueuedWrites})`;
  }
  return undefined;
}
