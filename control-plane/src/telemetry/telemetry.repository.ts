import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { TelemetryPoint } from '@flotilla/shared';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { isTransientDbError } from '../database/transient-errors';
import { COPY_COLUMNS, copyLine, type StampedRow } from './telemetry-copy';
import { dayBounds, partitionDayOf, partitionTable, type PartitionDay } from './telemetry-partitions';

/** Serialises partition changes across replicas (an arbitrary constant, unique among the advisory locks used). */
const PARTITION_LOCK = 1_765_020_001;
const PARTITION_LOCK_TIMEOUT = '5s';
/** Lines per chunk written to the COPY stream: fewer, larger writes than one per row. */
const LINES_PER_CHUNK = 500;
/** SQLSTATE unique_violation: a sample of the batch is stored already (its device and `at`). */
const UNIQUE_VIOLATION = '23505';
/**
 * The staging table of a connection (`copyNew`): temporary (no WAL, invisible to others), emptied at the
 * commit of a transaction that used it (PostgreSQL skips that step in transactions that did not).
 * Created when missing, in the batch's own transaction: a pooled connection keeps it from then on.
 */
const CREATE_STAGING = `CREATE TEMP TABLE IF NOT EXISTS telemetry_staging (
  id bigint, device_id text, at timestamptz, cpu_percent float8, mem_used_bytes int8, mem_total_bytes int8, temperature_c float8
) ON COMMIT DELETE ROWS`;
const INSERT_STAGED = `INSERT INTO telemetry_samples (${COPY_COLUMNS.join(', ')})
  SELECT ${COPY_COLUMNS.join(', ')} FROM telemetry_staging ORDER BY device_id, at
  ON CONFLICT (device_id, at) DO NOTHING`;

export type { SampleRow, StampedRow } from './telemetry-copy';

interface RawPoint {
  at: Date;
  cpu_percent: number;
  mem_used_bytes: string | number;
  mem_total_bytes: string | number;
  temperature_c: number | null;
  samples: number;
}

/** Reads and writes `telemetry_samples`, in batches and aggregates. */
@Injectable()
export class TelemetryRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Ids for `n` samples from the table's own sequence, taken before the first attempt to write
   * them (see `StampedRow`). One round trip; the sequence hands out each id once, committed or not.
   */
  async reserveIds(n: number): Promise<string[]> {
    if (n === 0) return [];
    const rows: { ids: string[] }[] = await this.db.query(
      `SELECT array_agg(nextval('telemetry_samples_id_seq')::text) AS ids FROM generate_series(1, $1)`,
      [n],
    );
    return rows[0]!.ids;
  }

  /**
   * Stores a batch, all or nothing, and returns how many of its samples were new: a sample
   * already stored (same device and `at`, see migration 1765180000000) is skipped. First one
   * `COPY … FROM STDIN` straight into the table, the cheapest write; a batch that holds a sample
   * stored already fails it on the unique key (a resend: rare, around a broker node's loss), and
   * is written again by `copyNew`. A row the database refuses otherwise, such as a sample of a
   * device deleted meanwhile (foreign key), fails the whole batch, and the caller bisects. Rows go
   * in by device id, so the foreign key's share locks on `devices` are taken in the order every
   * other batch takes them (no deadlock with `DevicePresenceRepository.touchMany`).
   */
  async copyBatch(unsorted: readonly StampedRow[]): Promise<number> {
    if (unsorted.length === 0) return 0;
    const rows = [...unsorted].sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
    try {
      return await this.withClient(false, async (client) => {
        const copy = client.query(copyFrom(`COPY telemetry_samples (${COPY_COLUMNS.join(', ')}) FROM STDIN`));
        await pipeline(Readable.from(chunks(rows)), copy);
        return copy.rowCount ?? rows.length;
      });
    } catch (e) {
      if ((e as { code?: string }).code !== UNIQUE_VIOLATION) throw e;
      return this.copyNew(rows);
    }
  }

  /**
   * Stores the samples of a batch not stored yet, all or nothing, and returns how many. One
   * transaction: COPY into a session-local staging table, then one `INSERT … SELECT … ON CONFLICT
   * DO NOTHING` (COPY itself cannot skip a conflict), which takes rows by device and time, so
   * that the foreign key's share locks and the waits on a sample another batch is inserting are
   * taken in one order by every batch (no deadlock with `touchMany` or a concurrent batch that
   * holds the same samples). Costs about 1.2–1.6× a straight COPY in database CPU (BENCHMARKS.md).
   */
  async copyNew(rows: readonly StampedRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    return this.withClient(true, async (client) => {
      await client.query(`BEGIN; ${CREATE_STAGING}`);
      await pipeline(Readable.from(chunks(rows)), client.query(copyFrom(`COPY telemetry_staging (${COPY_COLUMNS.join(', ')}) FROM STDIN`)));
      const [inserted] = (await client.query(`${INSERT_STAGED}; COMMIT`)) as unknown as [{ rowCount: number | null }];
      return inserted.rowCount ?? 0;
    });
  }

  /** Runs `work` on a client of its own (COPY needs one), rolled back on failure when `transaction`, discarded when cut. */
  private async withClient<R>(transaction: boolean, work: (client: PoolClient) => Promise<R>): Promise<R> {
    const client = await this.pool().connect();
    let broken: Error | undefined;
    // A checked-out client has no listener of the pool's: a cut would otherwise be an unhandled 'error' event.
    const lost = (e: Error) => (broken = e);
    client.on('error', lost);
    try {
      return await work(client);
    } catch (e) {
      // A connection cut mid-COPY leaves the client unusable: the pool must not hand it out again.
      if (isTransientDbError(e)) broken ??= e as Error;
      else if (transaction && !broken) await client.query('ROLLBACK').catch((rollback: Error) => (broken = rollback));
      throw e;
    } finally {
      client.off('error', lost);
      client.release(broken);
    }
  }

  /**
   * How many of these samples, by their reserved ids, are in the table: after a cut, whether
   * their all-or-nothing batch was committed (none found: not committed, or every sample was a
   * duplicate; either way writing them again is right).
   */
  async storedOf(rows: readonly StampedRow[]): Promise<number> {
    const ats = rows.map((r) => Date.parse(r.at));
    const found: { n: number }[] = await this.db.query(
      'SELECT count(*)::int AS n FROM telemetry_samples WHERE id = ANY($1::bigint[]) AND at >= $2 AND at <= $3',
      [rows.map((r) => r.id), new Date(Math.min(...ats)), new Date(Math.max(...ats))],
    );
    return found[0]?.n ?? 0;
  }

  /** TypeORM's own pg pool: COPY needs a client of its own, which `DataSource.query` does not lend. */
  private pool(): Pool {
    return (this.db.driver as PostgresDriver).master as Pool;
  }

  async deviceExists(id: string): Promise<boolean> {
    return (await this.db.query('SELECT 1 FROM devices WHERE id = $1', [id])).length === 1;
  }

  async latest(deviceId: string): Promise<TelemetryPoint | null> {
    const rows: RawPoint[] = await this.db.query(
      `SELECT at, cpu_percent, mem_used_bytes, mem_total_bytes, temperature_c, 1 AS samples
       FROM telemetry_samples WHERE device_id = $1 ORDER BY at DESC LIMIT 1`,
      [deviceId],
    );
    return rows[0] ? toPoint(rows[0]) : null;
  }

  /** Raw samples in [from, to), oldest first. */
  async raw(deviceId: string, from: Date, to: Date, limit: number): Promise<TelemetryPoint[]> {
    const rows: RawPoint[] = await this.db.query(
      `SELECT at, cpu_percent, mem_used_bytes, mem_total_bytes, temperature_c, 1 AS samples
       FROM telemetry_samples WHERE device_id = $1 AND at >= $2 AND at < $3 ORDER BY at LIMIT $4`,
      [deviceId, from, to, limit],
    );
    return rows.map(toPoint);
  }

  /** Averages per bucket of `stepSeconds`, buckets aligned to the Unix epoch (date_bin, PostgreSQL 14+). */
  async downsampled(deviceId: string, from: Date, to: Date, stepSeconds: number, limit: number): Promise<TelemetryPoint[]> {
    const rows: RawPoint[] = await this.db.query(
      `SELECT date_bin(make_interval(secs => $4), at, 'epoch'::timestamptz) AS at,
              avg(cpu_percent) AS cpu_percent, avg(mem_used_bytes)::float8 AS mem_used_bytes,
              avg(mem_total_bytes)::float8 AS mem_total_bytes, avg(temperature_c) AS temperature_c, count(*)::int AS samples
       FROM telemetry_samples WHERE device_id = $1 AND at >= $2 AND at < $3
       GROUP BY 1 ORDER BY 1 LIMIT $5`,
      [deviceId, from, to, stepSeconds, limit],
    );
    return rows.map(toPoint);
  }

  /** The days that have a partition (the default partition is not one). */
  async partitionDays(): Promise<PartitionDay[]> {
    const rows: { name: string }[] = await this.db.query(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'telemetry_samples'::regclass`,
    );
    return rows.flatMap((r) => partitionDayOf(r.name) ?? []);
  }

  /**
   * Creates a day's partition, moving into it the samples of that day the default partition
   * caught before it existed (PostgreSQL refuses to attach over them). Idempotent, and serialised
   * across control-plane replicas by an advisory lock; returns false when it already existed.
   */
  async createPartition(day: PartitionDay): Promise<boolean> {
    const table = partitionTable(day);
    const { from, to } = dayBounds(day);
    return this.db.transaction(async (tx) => {
      await tx.query(`SET LOCAL lock_timeout = '${PARTITION_LOCK_TIMEOUT}'`);
      await tx.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK]);
      if ((await tx.query('SELECT to_regclass($1) AS t', [table]))[0].t !== null) return false;
      await tx.query(`CREATE TABLE ${table} (LIKE telemetry_samples INCLUDING DEFAULTS)`);
      await tx.query(
        `WITH moved AS (DELETE FROM telemetry_samples_default WHERE at >= $1 AND at < $2 RETURNING *) INSERT INTO ${table} SELECT * FROM moved`,
        [from, to],
      );
      await tx.query(`ALTER TABLE telemetry_samples ATTACH PARTITION ${table} FOR VALUES FROM ('${from}') TO ('${to}')`);
      return true;
    });
  }

  /** Drops a day's partition with all its samples: retention without deleting rows one by one. */
  async dropPartition(day: PartitionDay): Promise<void> {
    await this.db.transaction(async (tx) => {
      // Dropping locks the parent briefly; waiting long behind a slow query would stall every insert queued behind the drop.
      await tx.query(`SET LOCAL lock_timeout = '${PARTITION_LOCK_TIMEOUT}'`);
      await tx.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK]);
      await tx.query(`DROP TABLE IF EXISTS ${partitionTable(day)}`);
    });
  }

  /** The default partition holds the odd sample outside every day (a device clock far off); those past retention go row by row. */
  async trimDefaultPartition(cutoff: Date): Promise<number> {
    const rows: { n: number }[] = await this.db.query(
      `WITH del AS (DELETE FROM telemetry_samples_default WHERE at < $1 RETURNING 1) SELECT count(*)::int AS n FROM del`,
      [cutoff],
    );
    return rows[0]?.n ?? 0;
  }
}

function toPoint(r: RawPoint): TelemetryPoint {
  return {
    at: r.at.toISOString(),
    cpuPercent: Number(r.cpu_percent),
    memUsedBytes: Number(r.mem_used_bytes),
    memTotalBytes: Number(r.mem_total_bytes),
    temperatureC: r.temperature_c === null ? null : Number(r.temperature_c),
    samples: Number(r.samples),
  };
}

function* chunks(rows: readonly StampedRow[]): Generator<string> {
  for (let i = 0; i < rows.length; i += LINES_PER_CHUNK)
    yield rows
      .slice(i, i + LINES_PER_CHUNK)
      .map(copyLine)
      .join('');
}
