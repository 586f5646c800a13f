import type { Pool } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { COPY_COLUMNS, copyLine } from '../../src/telemetry/telemetry-copy';
import { TelemetryRepository, type StampedRow } from '../../src/telemetry/telemetry.repository';

/**
 * The write path before samples were stored once (issue 14), kept as the baseline the writer
 * bench runs beside it: one `COPY telemetry_samples FROM STDIN` per batch, straight into the
 * table, so that a sample already stored fails the whole batch instead of being skipped (the
 * bench sends none twice). Connection-cut handling is left out: the bench cuts nothing.
 */
export class PlainCopyTelemetryRepository extends TelemetryRepository {
  constructor(private readonly ds: DataSource) {
    super(ds);
  }

  override async copyBatch(unsorted: readonly StampedRow[]): Promise<number> {
    if (unsorted.length === 0) return 0;
    const rows = [...unsorted].sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
    const client = await ((this.ds.driver as PostgresDriver).master as Pool).connect();
    try {
      const copy = client.query(copyFrom(`COPY telemetry_samples (${COPY_COLUMNS.join(', ')}) FROM STDIN`));
      await pipeline(Readable.from([rows.map(copyLine).join('')]), copy);
      return copy.rowCount ?? rows.length;
    } finally {
      client.release();
    }
  }
}
