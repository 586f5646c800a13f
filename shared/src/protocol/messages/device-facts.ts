import { z } from 'zod';
import { byteCount, celsius, count, gigahertz, percent } from '../storable';
import { name, ref, schema, timestamp } from './fields';

export const TelemetrySample = z.object({
  at: timestamp,
  cpuPercent: percent(),
  memUsedBytes: byteCount(),
  memTotalBytes: byteCount(),
  temperatureC: celsius().optional(),
});
export const Telemetry = z.object({ schema, samples: z.array(TelemetrySample).min(1).max(1000) });
export type Telemetry = z.infer<typeof Telemetry>;

export const Inventory = z.object({
  schema,
  at: timestamp,
  hostname: name,
  arch: name,
  /** The device's IANA time zone (e.g. "Europe/Berlin"): its maintenance windows are in it. Absent from older agents. */
  timeZone: name.optional(),
  board: z.object({ model: name, serial: name.optional(), revision: name.optional() }),
  cpu: z.object({ manufacturer: name, brand: name, cores: count(), speedGHz: gigahertz().optional() }),
  memory: z.object({ totalBytes: byteCount() }),
  os: z.object({ distro: name, release: name, kernel: ref }),
  disks: z.array(z.object({ mount: ref, fs: name, sizeBytes: byteCount(), usedBytes: byteCount() })).max(256),
  network: z.array(z.object({ iface: name, mac: name, ip4: name.optional(), ip6: name.optional() })).max(256),
  temperatures: z.array(z.object({ zone: name, celsius: celsius() })).max(256),
  throttled: z.object({ raw: name, underVoltage: z.boolean(), throttled: z.boolean() }).optional(),
});
export type Inventory = z.infer<typeof Inventory>;

export const DeviceStatus = z.object({ schema, status: z.enum(['online', 'offline']) });
export type DeviceStatus = z.infer<typeof DeviceStatus>;
