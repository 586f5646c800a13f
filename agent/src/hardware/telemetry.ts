import type { Telemetry } from '@flotilla/shared/device';
import { readThermalZones } from './probes';
import { systemInfo, type SystemInfo } from './system-info';

export type TelemetrySample = Telemetry['samples'][number];

/**
 * One sample for the `telemetry` channel. Memory "used" is what processes hold
 * (`active`), not counting the page cache Linux fills any free memory with.
 */
export async function sampleTelemetry(options: { root?: string; si?: SystemInfo; now?: () => Date } = {}): Promise<TelemetrySample> {
  const si = options.si ?? systemInfo;
  const [load, mem, zones] = await Promise.all([si.currentLoad(), si.mem(), readThermalZones(options.root ?? '/')]);
  const temperature = zones[0]?.celsius ?? (await si.cpuTemperature()).main;
  return {
    at: (options.now ?? (() => new Date()))().toISOString(),
    cpuPercent: Math.max(0, Math.round(load.currentLoad * 10) / 10),
    memUsedBytes: mem.active,
    memTotalBytes: mem.total,
    ...(typeof temperature === 'number' && Number.isFinite(temperature) ? { temperatureC: temperature } : {}),
  };
}
