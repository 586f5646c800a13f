export interface TelemetrySettings {
  /** A buffered batch is written at the latest after this long… */
  flushMs: number;
  /** …or as soon as it holds this many samples. */
  maxBatch: number;
  /** Samples older than this are deleted. */
  retentionDays: number;
  retentionEveryMs: number;
}

export const TELEMETRY_SETTINGS = Symbol('TelemetrySettings');
export const DEFAULT_TELEMETRY_SETTINGS: TelemetrySettings = {
  flushMs: 1000,
  maxBatch: 1000,
  retentionDays: 30,
  retentionEveryMs: 3_600_000,
};
