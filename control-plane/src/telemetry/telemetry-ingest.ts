import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { Telemetry } from '@flotilla/shared';
import { TELEMETRY_SETTINGS, type TelemetrySettings } from './telemetry-settings';
import { RejectedWrites } from '../database/rejected-writes';
import { writesRefusedReason } from '../database/transient-errors';
import { retryTransient, writeAlone } from '../database/write-alone';
import { refusal, type SampleRow, type StampedRow } from './telemetry-copy';
import { daysToEnsure, type PartitionDay } from './telemetry-partitions';
import { TelemetryRepository } from './telemetry.repository';

/** How long shutdown keeps retrying a batch through transient database errors before it gives the batch up. */
const SHUTDOWN_GRACE_MS = 10_000;
/** Ids reserved from the sequence at once (a gap of up to this many when the process ends is harmless). */
const ID_BLOCK = 10_000;
/** After a failed attempt to create a day's partition, the writer tries again no sooner than this (the default partition holds its samples meanwhile). */
const PARTITION_RETRY_MS = 60_000;

/** A sample the database would refuse (`refusal`), found before its batch was sent. */
export class TelemetrySampleRefusedError extends Error {
  constructor(reason: string) {
    super(`sample not stored: ${reason}; the device sent a value the telemetry table cannot hold`);
  }
}

/**
 * Buffers telemetry samples and writes them in batches: one COPY from `flushAt` waiting samples
 * or every `flushMs`, of at most `maxBatch`; a batch takes what arrived while the previous one was
 * written, so batches grow with the rate, and on a backlog up to `writers` batches are in flight.
 * Before a batch goes out, samples the database would refuse are dropped alone, counted and told
 * in their device's events, and the days it touches get their partition if they lack one. Each
 * batch is written with `writeAlone`: transient errors (a deadlock, a lost connection) are
 * retried with backoff until the batch is stored. A sample is stored once whatever sends it again
 * (the table's (device, at) key, `copyBatch`); its batch's commit is checked after a cut by its
 * reserved ids, so that its samples are counted once, as stored or as duplicates. A row the database still
 * refuses is found by bisection. Past `maxBuffered` waiting samples, new ones are dropped and
 * counted (`overflow`). Only at shutdown, after a grace period, is a batch given up.
 */
@Injectable()
export class TelemetryIngest implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger('Telemetry');
  private buffer: SampleRow[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Writers running now, and flushes waiting for all of them to finish. */
  private active = 0;
  private idle: (() => void)[] = [];
  private closingSince: number | undefined;
  private readonly partitioned = new Set<PartitionDay>();
  private readonly partitionRetryAt = new Map<PartitionDay, number>();
  private overflowLogged = 0;
  private readonly ids: string[] = [];
  /** Samples ever put in the buffer, and ever taken from it into a batch (sequence numbers). */
  private pushed = 0;
  private taken = 0;
  /** The first sequence number of each batch being written. */
  private readonly writing = new Set<number>();
  /** `stored()` calls waiting until every sample before `upTo` is settled, in `upTo` order. */
  private waiting: { upTo: number; resolve: () => void }[] = [];
  /**
   * `dropped`: samples not stored (refused alone, or given up at shutdown); `overflow`: samples
   * dropped on arrival because `maxBuffered` were waiting; `retries`: transient errors retried;
   * `duplicates`: samples found already stored (same device and `at`: a device's QoS 1 resend, a
   * broker redelivery, a sample sent twice) and skipped.
   */
  readonly stats = { received: 0, stored: 0, dropped: 0, overflow: 0, batches: 0, retries: 0, duplicates: 0 };

  constructor(
    private readonly samples: TelemetryRepository,
    @Inject(TELEMETRY_SETTINGS) private readonly settings: TelemetrySettings,
    @Inject(RejectedWrites) private readonly rejected: Pick<RejectedWrites, 'record' | 'refused'>,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), this.settings.flushMs);
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.closingSince = Date.now();
    await this.flush();
  }

  /** Takes a device's batch as received on `…/telemetry` (already validated). */
  add(deviceId: string, telemetry: Telemetry): void {
    this.stats.received += telemetry.samples.length;
    for (const s of telemetry.samples) {
      if (this.buffer.length >= this.settings.maxBuffered) {
        this.stats.overflow++;
        continue;
      }
      this.buffer.push({
        deviceId,
        at: s.at,
        cpuPercent: s.cpuPercent,
        memUsedBytes: s.memUsedBytes,
        memTotalBytes: s.memTotalBytes,
        temperatureC: s.temperatureC ?? null,
      });
      this.pushed++;
    }
    if (this.buffer.length >= Math.min(this.settings.flushAt, this.settings.maxBatch)) this.start(false);
  }

  /**
   * Settles once every sample added so far is settled: stored, refused, or given up at shutdown.
   * RabbitMQ's uplink acknowledges a telemetry message only then, so that a replica killed with
   * samples in its buffer leaves their messages to another replica instead of losing them.
   */
  stored(): Promise<void> {
    const upTo = this.pushed;
    if (upTo <= this.settledUpTo()) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push({ upTo, resolve }));
  }
  /** Settles once everything buffered so far (and whatever arrives meanwhile) is written. */
  flush(): Promise<void> {
    this.start(true);
    return this.active === 0 ? Promise.resolve() : new Promise((resolve) => this.idle.push(resolve));
  }

  /**
   * Starts writers, up to `writers` at once: the first for whatever waits when `any` (the flush
   * timer, an explicit flush), else from `flushAt` samples; the others only for a full batch, so
   * that extra statements (each a commit) are spent on a backlog only.
   */
  private start(any: boolean): void {
    const first = any ? 1 : Math.min(this.settings.flushAt, this.settings.maxBatch);
    while (this.active < this.settings.writers && this.buffer.length >= (this.active === 0 ? first : this.settings.maxBatch)) {
      this.active++;
      void this.writer();
    }
  }

  private async writer(): Promise<void> {
    try {
      while (this.buffer.length > 0) {
        const first = this.taken;
        const batch = this.buffer.splice(0, this.settings.maxBatch);
        this.taken += batch.length;
        this.writing.add(first);
        try {
          await this.write(batch);
        } finally {
          this.writing.delete(first);
          this.release();
        }
        this.stats.batches++;
        // A writer beyond the first stops when there is no backlog left; the last one writes the remainder.
        if (this.active > 1 && this.buffer.length < this.settings.maxBatch) break;
      }
    } finally {
      this.active--;
      if (this.active === 0) this.settled();
    }
  }

  /** Every sample before this sequence number is settled: none is in the buffer or in a batch being written. */
  private settledUpTo(): number {
    return this.writing.size > 0 ? Math.min(...this.writing) : this.taken;
  }

  private release(): void {
    const upTo = this.settledUpTo();
    while (this.waiting.length > 0 && this.waiting[0]!.upTo <= upTo) this.waiting.shift()!.resolve();
  }

  private settled(): void {
    if (this.stats.overflow > this.overflowLogged) {
      this.logger.warn(`${this.stats.overflow - this.overflowLogged} samples dropped: more than ${this.settings.maxBuffered} were waiting`);
      this.overflowLogged = this.stats.overflow;
    }
    const waiting = this.idle;
    this.idle = [];
    for (const resolve of waiting) resolve();
  }

  private async write(batch: SampleRow[]): Promise<void> {
    let settled = 0;
    const refuse = async (row: SampleRow, error: unknown): Promise<void> => {
      this.stats.dropped++;
      settled++;
      await this.rejected.record(row.deviceId, 'telemetry', error);
    };
    const retrying = {
      retried: () => void this.stats.retries++,
      stopping: () => this.closingSince !== undefined && Date.now() - this.closingSince > SHUTDOWN_GRACE_MS,
    };
    try {
      const rows: SampleRow[] = [];
      for (const row of batch) {
        const why = refusal(row);
        if (why === null) rows.push(row);
        else await refuse(row, new TelemetrySampleRefusedError(why));
      }
      await this.ensurePartitions(rows);
      const ids = await this.takeIds(rows.length, retrying);
      const stamped: StampedRow[] = rows.map((row, i) => ({ ...row, id: ids[i]! }));
      await writeAlone<StampedRow>(
        stamped,
        async (part) => {
          const fresh = await this.samples.copyBatch(part);
          this.stats.stored += fresh;
          this.stats.duplicates += part.length - fresh;
          settled += part.length;
        },
        {
          ...retrying,
          rejected: refuse,
          refused: (part, reason, error) => {
            this.stats.dropped += part.length;
            settled += part.length;
            this.rejected.refused('telemetry', part.length, reason, error);
          },
          alreadyWritten: async (part) => {
            const fresh = await this.samples.storedOf(part);
            if (fresh === 0) return false;
            this.stats.stored += fresh;
            this.stats.duplicates += part.length - fresh;
            settled += part.length;
            return true;
          },
        },
      );
    } catch (e) {
      // When shutting down with the database unreachable, or when the ids could not be reserved from a database refusing writes.
      const lost = batch.length - settled;
      this.stats.dropped += lost;
      const reason = writesRefusedReason(e);
      if (reason) this.rejected.refused('telemetry', lost, reason, e);
      else this.logger.error(`gave up ${lost} samples at shutdown: ${(e as Error).message}`);
    }
  }

  /** Reserved ids, taken from the sequence `ID_BLOCK` at a time: one round trip per block, not per batch. */
  private async takeIds(n: number, retrying: Parameters<typeof retryTransient>[1]): Promise<string[]> {
    if (this.ids.length < n) this.ids.push(...(await retryTransient(() => this.samples.reserveIds(Math.max(n, ID_BLOCK)), retrying)));
    return this.ids.splice(0, n);
  }

  /**
   * Creates the partitions this batch's recent days lack (the partition job missed a run, or a
   * day was dropped by hand), so that their samples land in their day rather than in the default
   * partition. A failure is not the batch's: its samples go to the default partition, which the
   * partition job empties into the day when it creates it.
   */
  private async ensurePartitions(rows: readonly SampleRow[]): Promise<void> {
    const now = Date.now();
    const days = daysToEnsure(
      rows.map((r) => r.at),
      this.partitioned,
      new Date(now),
      this.settings.partitionsAheadDays,
    ).filter((d) => (this.partitionRetryAt.get(d) ?? 0) <= now);
    for (const day of days) {
      try {
        if (await this.samples.createPartition(day)) this.logger.warn(`created the missing telemetry partition of ${day}`);
        this.partitioned.add(day);
      } catch (e) {
        this.partitionRetryAt.set(day, now + PARTITION_RETRY_MS);
        this.logger.warn(
          `could not create the telemetry partition of ${day} (${(e as Error).message}); its samples go to the default partition`,
        );
      }
    }
  }
}
