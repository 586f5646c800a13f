import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { Telemetry } from '@flotilla/shared';
import { TELEMETRY_SETTINGS, type TelemetrySettings } from './telemetry-settings';
import { TelemetryRepository, type SampleRow } from './telemetry.repository';

/**
 * Buffers telemetry samples and writes them in batches: one INSERT per `maxBatch` samples or
 * per `flushMs`, instead of one per sample. A batch that fails is dropped and counted (the
 * next one may succeed); telemetry is not worth back-pressure on the broker.
 */
@Injectable()
export class TelemetryIngest implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger('Telemetry');
  private buffer: SampleRow[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  readonly stats = { received: 0, stored: 0, dropped: 0, batches: 0 };

  constructor(
    private readonly samples: TelemetryRepository,
    @Inject(TELEMETRY_SETTINGS) private readonly settings: TelemetrySettings,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), this.settings.flushMs);
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
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
          this.stats.stored += await this.samples.insertBatch(batch);
          this.stats.batches++;
        } catch (e) {
          this.stats.dropped += batch.length;
          this.logger.error(`dropped a batch of ${batch.length} samples: ${(e as Error).message}`);
        }
      }
    });
    return this.flushing;
  }
}
