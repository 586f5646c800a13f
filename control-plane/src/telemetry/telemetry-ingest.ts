import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { Telemetry } from '@flotilla/shared';
import { TELEMETRY_SETTINGS, type TelemetrySettings } from './telemetry-settings';
import { RejectedWrites } from '../database/rejected-writes';
import { writeAlone } from '../database/write-alone';
import { TelemetryRepository, type SampleRow } from './telemetry.repository';

/** How long shutdown keeps retrying a batch through transient database errors before it gives the batch up. */
const SHUTDOWN_GRACE_MS = 10_000;

/**
 * Buffers telemetry samples and writes them in batches: one INSERT per `maxBatch` samples or
 * per `flushMs`, instead of one per sample. Each batch is written with `writeAlone`: transient
 * database errors (a deadlock, a lost connection) are retried with backoff until the batch is
 * stored, and a sample the database refuses is dropped alone, counted and told in its device's
 * events, never its batch. Only at shutdown, after a grace period, is a batch given up.
 */
@Injectable()
export class TelemetryIngest implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger('Telemetry');
  private buffer: SampleRow[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private closingSince: number | undefined;
  /** `dropped`: samples not stored (refused alone, or given up at shutdown); `retries`: transient errors retried. */
  readonly stats = { received: 0, stored: 0, dropped: 0, batches: 0, retries: 0 };

  constructor(
    private readonly samples: TelemetryRepository,
    @Inject(TELEMETRY_SETTINGS) private readonly settings: TelemetrySettings,
    @Inject(RejectedWrites) private readonly rejected: Pick<RejectedWrites, 'record'>,
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
    for (const s of telemetry.samples) {
      this.buffer.push({
        deviceId,
        at: s.at,
        cpuPercent: s.cpuPercent,
        memUsedBytes: s.memUsedBytes,
        memTotalBytes: s.memTotalBytes,
        temperatureC: s.temperatureC ?? null,
      });
    }
    this.stats.received += telemetry.samples.length;
    if (this.buffer.length >= this.settings.maxBatch) void this.flush();
  }

  /** Writes everything buffered so far; batches go one after another. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      while (this.buffer.length > 0) {
        const batch = this.buffer.splice(0, this.settings.maxBatch);
        try {
          await writeAlone(
            batch,
            async (rows) => {
              this.stats.stored += await this.samples.insertBatch(rows);
            },
            {
              rejected: (row, error) => {
                this.stats.dropped++;
                return this.rejected.record(row.deviceId, 'telemetry', error);
              },
              retried: () => this.stats.retries++,
              stopping: () => this.closingSince !== undefined && Date.now() - this.closingSince > SHUTDOWN_GRACE_MS,
            },
          );
          this.stats.batches++;
        } catch (e) {
          // Only when shutting down with the database unreachable.
          this.stats.dropped += batch.length;
          this.logger.error(`gave up a batch of ${batch.length} samples at shutdown: ${(e as Error).message}`);
        }
      }
    });
    return this.flushing;
  }
}
