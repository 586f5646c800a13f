/**
 * Payloads of protocol v1. Every message carries `schema: 1` so a device and a control
 * plane of different ages can tell what they are reading. Unknown extra keys are
 * stripped, not refused, so a newer peer can add fields without breaking an older one.
 */
export const PROTOCOL_SCHEMA = 1;

/** Largest MQTT payload either side accepts, in bytes; the broker refuses bigger ones. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;
