import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ScheduledJobs } from '../database/scheduled-jobs';
import { planPartitions, type PartitionDay } from './telemetry-partitions';
import { TELEMETRY_SETTINGS, type TelemetrySettings } from './telemetry-settings';
import { TelemetryRepository } from './telemetry.repository';

export interface RetentionRun {
  created: PartitionDay[];
  dropped: PartitionDay[];
  /** Samples deleted row by row from the default partition (outside every day). */
  trimmed: number;
}

/**
 * The partition job, once per `retentionEveryMs` across all replicas (ScheduledJobs): creates the day partitions of today and
 * `partitionsAheadDays` ahead, so samples land in their day's table and not in the default one,
 * and drops whole the days past the retention period. A failed step is logged and retried on
 * the next run; the others still run.
 */
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

  async run(now = new Date()): Promise<RetentionRun> {
    const result: RetentionRun = { created: [], dropped: [], trimmed: 0 };
    try {
      const plan = planPartitions(await this.samples.partitionDays(), now, this.settings.partitionsAheadDays, this.settings.retentionDays);
      for (const day of plan.create)
        if (await this.attempt(`create partition ${day}`, () => this.samples.createPartition(day))) result.created.push(day);
      for (const day of plan.drop)
        if (await this.attempt(`drop partition ${day}`, () => this.samples.dropPartition(day).then(() => true))) result.dropped.push(day);
      result.trimmed = (await this.attempt('trim the default partition', () => this.samples.trimDefaultPartition(plan.cutoff))) || 0;
    } catch (e) {
      this.logger.warn(`partition job could not list partitions: ${(e as Error).message}`);
    }
    if (result.dropped.length > 0 || result.trimmed > 0) {
      this.logger.log(
        `retention (${this.settings.retentionDays} days): dropped partitions ${result.dropped.join(', ') || 'none'}, ${result.trimmed} stray samples deleted`,
      );
    }
    return result;
  }

  private async attempt<T>(what: string, step: () => Promise<T>): Promise<T | false> {
    try {
      return await step();
    } catch (e) {
      this.logger.warn(`partition job: ${what} failed (${(e as Error).message}); retried on the next run`);
      return false;
    }
  }
}
