import { timestampRefusal } from '@flotilla/shared';

/** A sample as buffered by the writer, before it has an id. */
export interface SampleRow {
  deviceId: string;
  at: string;
  cpuPercent: number;
  memUsedBytes: number;
  memTotalBytes: number;
  temperatureC: number | null;
}

/**
 * A sample with its id reserved from `telemetry_samples_id_seq` before the first attempt to
 * write it: a batch retried after a connection cut keeps its ids, so whether it was committed
 * can be asked of its rows (`TelemetryRepository.storedOf`), and its samples are counted once,
 * as stored or as duplicates (the retry itself would store nothing twice: `copyBatch`).
 */
export interface StampedRow extends SampleRow {
  id: string;
}

/** The columns of one COPY line, in this order. */
export const COPY_COLUMNS = ['id', 'device_id', 'at', 'cpu_percent', 'mem_used_bytes', 'mem_total_bytes', 'temperature_c'] as const;

/** `bigint` holds [-2^63, 2^63); a rounded byte count at or past 2^63 would fail the whole COPY. */
const BIGINT_LIMIT = 2 ** 63;

/**
 * Why PostgreSQL would refuse this sample, or null when it would store it. Checked before the
 * batch goes out, so that one bad value (below the protocol schema, as a bug elsewhere would let
 * through) costs one row and no failed COPY; what this misses is still found by bisection.
 */
export function refusal(row: SampleRow): string | null {
  // The protocol's own check (`storableTimestamp`): an offset PostgreSQL refuses, or a fraction it would round, fails the COPY.
  const at = timestampRefusal(row.at);
  if (at) return `at "${row.at}": ${at}`;
  if (!Number.isFinite(row.cpuPercent)) return `cpuPercent ${row.cpuPercent} is not a number`;
  if (row.temperatureC !== null && !Number.isFinite(row.temperatureC)) return `temperatureC ${row.temperatureC} is not a number`;
  for (const field of ['memUsedBytes', 'memTotalBytes'] as const) {
    const v = Math.round(row[field]);
    if (!(Math.abs(v) < BIGINT_LIMIT)) return `${field} ${row[field]} is out of range for type bigint`;
  }
  return null;
}

/** One line of `COPY … FROM STDIN` in text format (tab-separated, `\N` for null), newline included. */
export function copyLine(row: StampedRow): string {
  return (
    [
      row.id,
      escapeText(row.deviceId),
      escapeText(row.at),
      String(row.cpuPercent),
      String(Math.round(row.memUsedBytes)),
      String(Math.round(row.memTotalBytes)),
      row.temperatureC === null ? '\\N' : String(row.temperatureC),
    ].join('\t') + '\n'
  );
}

/** Backslash, tab, newline and carriage return are COPY's own characters in text format. */
function escapeText(s: string): string {
  return s.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}
