import type { TelemetrySample } from './telemetry';

/** At most this many samples wait for the next batch; older ones are dropped first. */
export const MAX_BATCH = 1_000;

/** Telemetry samples waiting for the next `telemetry` message, bounded while the control plane is away. */
export class TelemetryBatch {
  private samples: TelemetrySample[] = [];

  constructor(private readonly max = MAX_BATCH) {}

  add(sample: TelemetrySample): void {
    this.samples.push(sample);
    if (this.samples.length > this.max) this.samples.splice(0, this.samples.length - this.max);
  }

  /** The samples waiting, oldest first, and an empty batch after; null when none wait. */
  take(): TelemetrySample[] | null {
    if (this.samples.length === 0) return null;
    const taken = this.samples;
    this.samples = [];
    return taken;
  }
}
