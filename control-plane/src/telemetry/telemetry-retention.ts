import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ScheduledJobs } from '../database/scheduled-jobs';
import { TELEMETRY_SETTINGS, type TelemetrySettings } from './telemetry-settings';
import { TelemetryRepository } from './telemetry.repository';

/** Deletes samples older than the retention period, once per `retentionEveryMs` across all replicas. */
@Injectable()
export class TelemetryRetention implements OnApplicationBootstrap {
  private readonly logger = new Logger('Telemetry');

  constructor(
    private readonly samples: TelemetryRepository,
    @Inject(TELEMETRY_SETTINGS) private readonly settings: TelemetrySettings,
    private readonly jobs: ScheduledJobs,
  ) {}

  onApplicationBootstrap(): void {
    this.jobs.every('telemetry-retention', this.settings.retentionEveryMs, () => this.run());
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
