import type { DataSource } from 'typeorm';
import { TelemetryRepository, type StampedRow } from '../../src/telemetry/telemetry.repository';

/**
 * The write path before COPY, kept as the baseline the writer bench runs beside it: one
 * `INSERT … SELECT FROM unnest(parallel arrays)` per batch, ids from the column default (no
 * reservation, so no commit check after a cut either), unknown devices skipped by a join.
 */
export class UnnestTelemetryRepository extends TelemetryRepository {
  constructor(private readonly ds: DataSource) {
    super(ds);
  }

  override reserveIds(n: number): Promise<string[]> {
    return Promise.resolve(Array.from({ length: n }, () => ''));
  }

  override storedOf(): Promise<number> {
    return Promise.resolve(0);
  }

  override async copyBatch(unsorted: readonly StampedRow[]): Promise<number> {
    if (unsorted.length === 0) return 0;
    const rows = [...unsorted].sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
    const inserted: { n: number }[] = await this.ds.query(
      `WITH ins AS (
         INSERT INTO telemetry_samples (device_id, at, cpu_percent, mem_used_bytes, mem_total_bytes, temperature_c)
         SELECT s.device_id, s.at, s.cpu, s.used, s.total, s.temp
         FROM unnest($1::text[], $2::timestamptz[], $3::float8[], $4::int8[], $5::int8[], $6::float8[])
              WITH ORDINALITY AS s (device_id, at, cpu, used, total, temp, n)
         WHERE EXISTS (SELECT 1 FROM devices d WHERE d.id = s.device_id)
         ORDER BY s.n
         RETURNING 1)
       SELECT count(*)::int AS n FROM ins`,
      [
        rows.map((r) => r.deviceId),
        rows.map((r) => r.at),
        rows.map((r) => r.cpuPercent),
        rows.map((r) => Math.round(r.memUsedBytes)),
        rows.map((r) => Math.round(r.memTotalBytes)),
        rows.map((r) => r.temperatureC),
      ],
    );
    return inserted[0]?.n ?? 0;
  }
}
