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

/**
 * The deepest nesting of arrays and objects a payload may have. The protocol's schemas nest a few
 * levels (a report with its update locks: 4; none past ~8); 32 leaves them room to grow. A payload
 * nested deeper is refused by one linear scan before JSON.parse and the schema build and walk it:
 * 256 KiB of `[[[…]]]` is 131,062 levels, and 600 of them held the event loop 21 s.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * Whether the JSON text nests arrays and objects deeper than `max`; brackets inside strings (escapes
 * honoured) do not count. A string is skipped with `indexOf` to its closing quote, not character by
 * character: the scan then costs about half of JSON.parse's time on a report, not more than it.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // The closing quote is the first one not escaped: preceded by an even number of backslashes.
      for (;;) {
        i = text.indexOf('"', i + 1);
        if (i === -1) return false; // unterminated: JSON.parse says so
        let backslashes = 0;
        while (text.charCodeAt(i - 1 - backslashes) === 0x5c) backslashes++;
        if (backslashes % 2 === 0) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Parse and validate one MQTT payload of `channel`; never throws. */
export function decodePayload<C extends Channel>(channel: C, payload: Uint8Array | string): DecodeResult<ChannelPayload<C>> {
  const bytes = typeof payload === 'string' ? UTF8_ENCODER.encode(payload).length : payload.byteLength;
  if (bytes > MAX_PAYLOAD_BYTES) return { ok: false, reason: `payload of ${bytes} bytes exceeds ${MAX_PAYLOAD_BYTES}` };
  const text = typeof payload === 'string' ? payload : UTF8_DECODER.decode(payload);
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) return { ok: false, reason: `nested deeper than ${MAX_JSON_DEPTH} levels` };
  let json: unknown;
  try {
    json = JSON.parse(text);
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
