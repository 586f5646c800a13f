import type { z } from 'zod';
import type { Channel } from '../topics';
import { CommandResult, SignedCommand } from './commands';
import { DesiredGet, SignedDesired } from './desired';
import { DeviceStatus, Inventory, Telemetry } from './device-facts';
import { MAX_PAYLOAD_BYTES } from './envelope';
import { DeviceEvent } from './events';
import { Reported } from './reported';

/** The schema of each channel's payload, so a broker hook or a handler can validate by topic. */
export const CHANNEL_SCHEMAS = {
  desired: SignedDesired,
  'desired/get': DesiredGet,
  reported: Reported,
  telemetry: Telemetry,
  inventory: Inventory,
  events: DeviceEvent,
  cmd: SignedCommand,
  'cmd/res': CommandResult,
  status: DeviceStatus,
} satisfies Record<Channel, z.ZodType>;

export type ChannelPayload<C extends Channel> = z.infer<(typeof CHANNEL_SCHEMAS)[C]>;

/** Stateless between calls (no streaming), so one of each serves every message. */
const UTF8_DECODER = new TextDecoder();
const UTF8_ENCODER = new TextEncoder();

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Parse and validate one MQTT payload of `channel`; never throws. */
export function decodePayload<C extends Channel>(channel: C, payload: Uint8Array | string): DecodeResult<ChannelPayload<C>> {
  const bytes = typeof payload === 'string' ? UTF8_ENCODER.encode(payload).length : payload.byteLength;
  if (bytes > MAX_PAYLOAD_BYTES) return { ok: false, reason: `payload of ${bytes} bytes exceeds ${MAX_PAYLOAD_BYTES}` };
  let json: unknown;
  try {
    json = JSON.parse(typeof payload === 'string' ? payload : UTF8_DECODER.decode(payload));
  } catch (e) {
    return { ok: false, reason: `not JSON: ${(e as Error).message}` };
  }
  const parsed = CHANNEL_SCHEMAS[channel].safeParse(json);
  if (!parsed.success) {
    return { ok: false, reason: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
  }
  return { ok: true, value: parsed.data as ChannelPayload<C> };
}

export function encodePayload<C extends Channel>(channel: C, value: ChannelPayload<C>): string {
  return JSON.stringify(CHANNEL_SCHEMAS[channel].parse(value));
}
