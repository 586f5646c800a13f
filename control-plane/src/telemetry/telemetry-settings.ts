export interface TelemetrySettings {
  /** Buffered samples are written at the latest after this long… */
  flushMs: number;
  /** …or as soon as this many wait (a low bound keeps the lag low at ordinary rates)… */
  flushAt: number;
  /** …in statements of at most this many (a backlog is written in batches this large). */
  maxBatch: number;
  /** Batches written at once, each on its own connection, when samples wait (the first is written whatever its size). */
  writers: number;
  // maxBatch 5,000 × 2 writers: the writer bench's sweep (BENCHMARKS.md, "Issue 15 item 4") held 20,000 samples/s on
  // durable commits where 1,000 × 1 (and 5,000 × 1) fell behind; a third writer added nothing on 2 cores.
  /** Past this many samples waiting to be written (the database slower than the devices), new ones are dropped and counted. */
  maxBuffered: number;
  /** Day partitions older than this are dropped whole. */
  retentionDays: number;
  /** Day partitions are created this many days ahead of today, so a missed job run loses nothing to the default partition. */
  partitionsAheadDays: number;
  retentionEveryMs: number;
}

export const TELEMETRY_SETTINGS = Symbol('TelemetrySettings');
export const DEFAULT_TELEMETRY_SETTINGS: TelemetrySettings = {
  flushMs: 1000,
  flushAt: 1000,
  maxBatch: 5000,
  maxBuffered: 100_000,
  writers: 2,
  retentionDays: 30,
  partitionsAheadDays: 3,
  retentionEveryMs: 3_600_000,
};
