import type { Telemetry } from '@flotilla/shared';
import { DataSource } from 'typeorm';
import { machineLine, percentile, printTable, runBench } from '../../test/bench/machine';
import { MIGRATIONS } from '../src/database/database.module';
import { createTestDatabase } from '../src/testing/test-database';
import { TelemetryIngest } from '../src/telemetry/telemetry-ingest';
import { DEFAULT_TELEMETRY_SETTINGS } from '../src/telemetry/telemetry-settings';
import { TelemetryRepository, type StampedRow } from '../src/telemetry/telemetry.repository';
import { numberFlags, procUsage, sleep } from './support/control-plane-process';
import { startDurablePostgres } from './support/durable-postgres';
import { PlainCopyTelemetryRepository } from './support/plain-copy-telemetry-repository';
import { UnnestTelemetryRepository } from './support/unnest-telemetry-repository';

type Path = 'unnest' | 'copy' | 'writer' | 'staged';
type Flags = { devices: number; duration: number; durable: number; maxBuffered: number; resendEvery: number };
type Row = Record<string, string | number>;

/** How often the generator hands samples to the writer: the rate is kept per tick, not per second. */
const TICK_MS = 10;
/** The bound of a run's drain: the writer is given this long after the window to write what it holds. */
const DRAIN_LIMIT_MS = 60_000;

/**
 * telemetry-writer: the control plane's telemetry writer (TelemetryIngest, batching, partitions)
 * on its own, fed samples in-process at fixed offered rates, so that the database write path,
 * not the broker or the load generator, sets the ceiling. Each (path, batch size, rate) gets a
 * fresh migrated database with `--devices` devices on a PostgreSQL cluster with durable settings
 * (`--durable 0`: the tests' server, fsync off). Paths: `unnest` (the multi-row INSERT that COPY
 * replaced), `copy` (COPY FROM STDIN straight into the table, main's path before samples were
 * stored once: it cannot skip a sample stored already), `writer` (the repository's path: that
 * COPY, and a batch that fails it on a sample stored already written again through staging) and
 * `staged` (every batch through staging: COPY into a temporary table, then INSERT … ON CONFLICT DO
 * NOTHING), each with a batch size and a number of batches in flight
 * (`--variants PATH:MAX_BATCH:WRITERS,…`). Every sample has its own (device, at); with
 * `--resendEvery N` every Nth sample is sent twice (a device's resend; `copy` then loses batches). Lag is sample time to the end of the
 * statement that stored it, for every sample; persisted % is rows in the table once the writer
 * drained, of samples offered; DB CPU is the cluster's processes (durable cluster only), in % of
 * a core over the window and in µs per row stored; node µs/row is this process (writer and generator).
 *
 *   npm run bench -- telemetry-writer --rates 2500,5000,10000,20000 --variants copy:5000:2,writer:5000:2,staged:5000:2
 */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const list = (name: string, fallback: string): string[] => {
    const at = args.indexOf(`--${name}`);
    return (at >= 0 ? args.splice(at, 2)[1]! : fallback).split(',');
  };
  const rates = list('rates', '2500,5000,10000,20000,40000').map(Number);
  // PATH:MAX_BATCH:WRITERS; by default the write path before samples were stored once (copy) and as it is (staged).
  const batch = `${DEFAULT_TELEMETRY_SETTINGS.maxBatch}:${DEFAULT_TELEMETRY_SETTINGS.writers}`;
  const variants = list('variants', `copy:${batch},writer:${batch},staged:${batch}`).map((v) => {
    const [path, maxBatch, writers] = v.split(':');
    return { path: path as Path, maxBatch: Number(maxBatch), writers: Number(writers) };
  });
  const flags = numberFlags(args, {
    devices: 10_000,
    duration: 20,
    durable: 1,
    maxBuffered: DEFAULT_TELEMETRY_SETTINGS.maxBuffered,
    resendEvery: 0,
  });
  console.log(machineLine());
  const durable = flags.durable ? await startDurablePostgres() : undefined;
  const rows: Row[] = [];
  try {
    // Rates outermost, paths alternating: the machine's load drifts, and both paths see the same drift.
    for (const rate of rates)
      for (const variant of variants) {
        const row = await measure(variant, rate, flags, durable);
        rows.push(row);
        printTable([row]);
      }
  } finally {
    await durable?.stop();
  }
  console.log('\nall runs:');
  printTable(rows);
  for (const { path, maxBatch, writers } of variants) {
    const held = rows
      .filter(
        (r) =>
          r.path === path &&
          r['max batch'] === maxBatch &&
          r.writers === writers &&
          Number(r['persisted %']) >= 100 &&
          Number(r['lag p99 ms']) < 2000,
      )
      .map((r) => Number(r['offered /s']));
    console.log(
      `ceiling ${path}:${maxBatch}:${writers} (100 % persisted, lag p99 < 2 s): ${held.length > 0 ? `${Math.max(...held)} samples/s of the rates tried` : 'below every rate tried'}`,
    );
  }
  // Each variant against the first, per rate: the cost of a path change in one sitting.
  const [base, ...others] = variants;
  for (const other of others)
    for (const rate of rates) {
      const pick = (v: typeof base) =>
        rows.find((r) => r.path === v!.path && r['max batch'] === v!.maxBatch && r.writers === v!.writers && r['offered /s'] === rate);
      const [b, o] = [pick(base), pick(other)];
      if (!b || !o) continue;
      const ratio = (k: string) => (Number(o[k]) / Number(b[k])).toFixed(2);
      console.log(
        `${other.path}/${base!.path} at ${rate}/s: DB µs/row ×${ratio('DB µs/row')}, node µs/row ×${ratio('node µs/row')}, lag p99 ×${ratio('lag p99 ms')}`,
      );
    }
}

async function measure(
  { path, maxBatch, writers }: { path: Path; maxBatch: number; writers: number },
  rate: number,
  flags: Flags,
  durable: { url: string; cpuSeconds(): Promise<number> } | undefined,
): Promise<Row> {
  const db = await createTestDatabase(durable?.url);
  const ds = new DataSource({ type: 'postgres', url: db.url, migrations: MIGRATIONS, extra: { max: 10, connectionTimeoutMillis: 5000 } });
  await ds.initialize();
  try {
    await ds.runMigrations({ transaction: 'all' });
    await ds.query(
      `INSERT INTO devices (id, name, password_hash) SELECT id, id, 'x' FROM (SELECT 'dev_w' || lpad(g::text, 6, '0') AS id FROM generate_series(0, $1 - 1) g) d`,
      [flags.devices],
    );
    const repo = {
      unnest: () => new UnnestTelemetryRepository(ds),
      copy: () => new PlainCopyTelemetryRepository(ds),
      writer: () => new TelemetryRepository(ds),
      staged: () => new StagedTelemetryRepository(ds),
    }[path]();
    const lags: number[] = [];
    const write = repo.copyBatch.bind(repo);
    repo.copyBatch = async (rows: readonly StampedRow[]) => {
      const n = await write(rows);
      const now = Date.now();
      for (const r of rows) lags.push(now - Date.parse(r.at));
      return n;
    };
    const ingest = new TelemetryIngest(
      repo,
      { ...DEFAULT_TELEMETRY_SETTINGS, maxBatch, maxBuffered: flags.maxBuffered, writers },
      { record: async () => undefined, refused: () => undefined },
    );
    ingest.onModuleInit();
    const dbBefore = (await durable?.cpuSeconds()) ?? NaN;
    const selfBefore = procUsage(process.pid).cpuSeconds;
    const offered = await generate(ingest, rate, flags.devices, flags.duration * 1000, flags.resendEvery);
    const dbWindow = ((await durable?.cpuSeconds()) ?? NaN) - dbBefore;
    const drainFrom = Date.now();
    const drained = await Promise.race([ingest.flush().then(() => true), sleep(DRAIN_LIMIT_MS).then(() => false)]);
    const drainMs = Date.now() - drainFrom;
    const dbTotal = ((await durable?.cpuSeconds()) ?? NaN) - dbBefore;
    const selfTotal = procUsage(process.pid).cpuSeconds - selfBefore;
    const stored = Number((await ds.query(`SELECT count(*) AS n FROM telemetry_samples`))[0].n);
    await ingest.beforeApplicationShutdown();
    lags.sort((a, b) => a - b);
    return {
      path,
      'max batch': maxBatch,
      writers,
      'offered /s': rate,
      'sent /s': Math.round(offered / flags.duration),
      'persisted %': ((100 * stored) / offered).toFixed(3),
      'lag p50 ms': percentile(lags, 50),
      'lag p99 ms': percentile(lags, 99),
      'lag max ms': lags.at(-1) ?? NaN,
      batches: ingest.stats.batches,
      'mean batch': Math.round(ingest.stats.stored / Math.max(1, ingest.stats.batches)),
      duplicates: ingest.stats.duplicates,
      overflow: ingest.stats.overflow,
      'drain ms': drained ? drainMs : `>${DRAIN_LIMIT_MS}`,
      'DB CPU %': ((100 * dbWindow) / flags.duration).toFixed(1),
      // Per row stored, window and drain: what the machine's load changes least (a starved process is slow, not costlier).
      'DB µs/row': Math.round((1e6 * dbTotal) / stored),
      'node µs/row': Math.round((1e6 * selfTotal) / stored),
    };
  } finally {
    await ds.destroy();
    await db.drop();
  }
}

/** Every batch through the staging table (`copyNew`), for its cost beside a straight COPY. */
class StagedTelemetryRepository extends TelemetryRepository {
  override copyBatch(rows: readonly StampedRow[]): Promise<number> {
    return this.copyNew(rows);
  }
}

/**
 * Offers `rate` samples a second for `ms`, one sample per message as devices send them, devices
 * in turn; returns how many. A sample's `at` is when it was due (never two of one device at the
 * same millisecond below 1,000 × devices a second), not the tick that sent it: a late tick must
 * not give one device two samples at one time, which the table keeps once.
 */
async function generate(ingest: TelemetryIngest, rate: number, devices: number, ms: number, resendEvery: number): Promise<number> {
  const start = Date.now();
  let sent = 0;
  while (Date.now() - start < ms) {
    const due = Math.floor((rate * (Date.now() - start)) / 1000);
    for (; sent < due; sent++) {
      const device = `dev_w${String(sent % devices).padStart(6, '0')}`;
      const at = new Date(start + Math.floor((sent * 1000) / rate)).toISOString();
      const telemetry: Telemetry = {
        schema: 1,
        samples: [{ at, cpuPercent: sent % 100, memUsedBytes: 1e9 + sent, memTotalBytes: 4e9, temperatureC: 50 }],
      };
      ingest.add(device, telemetry);
      // A resend: the same sample again (not counted as offered: the table keeps it once).
      if (resendEvery > 0 && sent % resendEvery === 0) ingest.add(device, telemetry);
    }
    await sleep(TICK_MS);
  }
  return sent;
}

runBench(main);
