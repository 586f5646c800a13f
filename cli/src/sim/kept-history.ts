/** Entries of a simulated device's history kept (`SimDevice.received`, `switchedAt`): a simulator runs for days. */
export const KEPT_HISTORY = 32;

/** Appends `entry`, dropping the oldest past `KEPT_HISTORY`. */
export function keep<T>(history: T[], entry: T): void {
  history.push(entry);
  if (history.length > KEPT_HISTORY) history.splice(0, history.length - KEPT_HISTORY);
}
