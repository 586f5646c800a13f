import { z } from 'zod';

/**
 * "Server busy, retry after N": how the control plane asks a device to back off
 * (docs/architecture.md, "The MQTT protocol, v1"). MQTT 3.1.1 CONNACK carries a return code
 * and nothing else, so the signal has two forms:
 *  - CONNACK return code 3, "Server unavailable" [MQTT-3.2.2-3 table 3.1]: busy, no delay given;
 *    the device backs off by its own schedule (reconnect.ts) without starting it over;
 *  - a `busy` message (ServerBusy below) on the device's own topic `flotilla/v1/d/{id}/busy`,
 *    published by the broker straight to the connection after a CONNACK 0 and followed by the
 *    broker closing it: the device waits at least `retryAfterMs` before its next connect.
 * The device does not subscribe to `busy`: the broker writes it to the one connection it means.
 */
export const CONNACK_SERVER_UNAVAILABLE = 3;

/** Longest delay a control plane may ask for; a larger one is refused as invalid, not obeyed. */
export const MAX_RETRY_AFTER_MS = 15 * 60_000;

export const ServerBusy = z.object({
  schema: z.literal(1),
  retryAfterMs: z.number().int().min(0).max(MAX_RETRY_AFTER_MS),
});
export type ServerBusy = z.infer<typeof ServerBusy>;
