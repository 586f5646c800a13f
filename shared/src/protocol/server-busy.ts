/**
 * "Server busy": how the control plane asks a device to come back later, and how long the
 * device waits (issue 15). MQTT 3.1.1 CONNACK carries a return code and nothing else (no reason
 * string, no properties; §3.2.2.3), so the channel is the return code and the delay is this
 * documented value, the same for every control plane:
 *
 * - The control plane answers CONNACK return code 3, "Server unavailable", when it is
 *   overloaded (connects waiting for a credential lookup or device writes queued above its
 *   thresholds), when its database cannot be reached, and when the device's address has failed
 *   too many logins. It closes the connection right after [MQTT-3.2.2-5].
 * - A device refused with code 3 waits `serverBusyDelayMs()`: at least `retryAfterMs`, plus a
 *   uniform random share of `jitterMs` so that a refused fleet comes back spread out, not in
 *   step. When its own backoff (exponential with full jitter, capped) asks for longer, it waits
 *   the longer of the two. Every other refusal (codes 1, 2, 4, 5) is not "busy".
 */
export const SERVER_BUSY = {
  /** CONNACK return code 3, "Server unavailable" (MQTT 3.1.1 §3.2.2.3). */
  connackReturnCode: 3,
  /** The least a device waits after a busy refusal before its next connect. */
  retryAfterMs: 5_000,
  /** The random spread added on top of `retryAfterMs` (uniform in [0, jitterMs)). */
  jitterMs: 10_000,
} as const;

/** The delay before the next connect after a "server busy" CONNACK; `random` returns [0, 1). */
export function serverBusyDelayMs(random: () => number = Math.random): number {
  return SERVER_BUSY.retryAfterMs + Math.floor(random() * SERVER_BUSY.jitterMs);
}

/** True when a CONNACK return code is the control plane's "server busy" (retry later, not a credential problem). */
export function isServerBusy(connackReturnCode: number | undefined): boolean {
  return connackReturnCode === SERVER_BUSY.connackReturnCode;
}
