import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { TELEMETRY_SETTINGS, type TelemetrySettings } from './telemetry-settings';
import { TelemetryRepository } from './telemetry.repository';

/** Deletes samples older than the retention period, on start and then on a timer. */
@Injectable()
export class TelemetryRetention implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Telemetry');
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly samples: TelemetryRepository,
    @Inject(TELEMETRY_SETTINGS) private readonly settings: TelemetrySettings,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.run(), this.settings.retentionEveryMs);
    void this.run();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async run(): Promise<number> {
    try {
      const deleted = await this.samples.deleteOlderThan(this.settings.retentionDays);
      if (deleted > 0) this.logger.log(`deleted ${deleted} samples older than ${this.settings.retentionDays} days`);
      return deleted;
    } catch (e) {
      this.logger.warn(`retention run failed: ${(e as Error).message}`);
      return 0;
    }
  }
}
