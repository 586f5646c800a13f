import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ScheduledJobs } from '../database/scheduled-jobs';
import { DEVICE_LIMITS, type DeviceLimits } from '../limits/device-limits';
import { LimitStats } from '../limits/limit-stats';
import { DeviceEventPruningRepository } from './device-event-pruning.repository';

/**
 * The cap is enforced this often by each replica, for the devices that wrote events through it;
 * the age once an hour by one replica among all.
 */
const CAP_EVERY_MS = 60_000;
const AGE_EVERY_MS = 3_600_000;
/** Devices pruned per statement. */
const CHUNK = 1000;

/**
 * Bounds the events stored per device: at most `eventsPerDevice` (the newest), none older than
 * `eventRetentionDays`. Between two passes a device can add at most its events quota for that
 * time, so storage stays within cap + quota × interval.
 */
@Injectable()
export class DeviceEventRetention implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Devices');
  private readonly written = new Set<string>();
  private timers: NodeJS.Timeout[] = [];
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly pruning: DeviceEventPruningRepository,
    @Inject(DEVICE_LIMITS) private readonly limits: DeviceLimits,
    private readonly stats: LimitStats,
    private readonly jobs: ScheduledJobs,
  ) {}

  onApplicationBootstrap(): void {
    this.timers = [setInterval(() => void this.pruneCapped(), CAP_EVERY_MS)];
    for (const t of this.timers) t.unref();
    this.jobs.every('device-event-retention', AGE_EVERY_MS, () => this.pruneAged());
  }

  async onApplicationShutdown(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.running;
  }

  /** A device stored events: its count is checked at the next pass. */
  wrote(deviceId: string): void {
    this.written.add(deviceId);
  }

  /** Deletes, for each device that wrote events since the last pass, those beyond the cap. */
  pruneCapped(): Promise<number> {
    const ids = [...this.written];
    this.written.clear();
    return this.serially('cap', async () => {
      let deleted = 0;
      for (let i = 0; i < ids.length; i += CHUNK)
        deleted += await this.pruning.deleteBeyondNewest(ids.slice(i, i + CHUNK), this.limits.eventsPerDevice);
      return deleted;
    });
  }

  pruneAged(): Promise<number> {
    return this.serially('age', () => this.pruning.deleteOlderThan(this.limits.eventRetentionDays));
  }

  /** One pass at a time; a failed pass is logged and the next one tries again. */
  private serially(reason: 'cap' | 'age', pass: () => Promise<number>): Promise<number> {
    const run = this.running.then(pass).then(
      (deleted) => {
        this.stats.count('eventsPruned', { reason }, deleted);
        return deleted;
      },
      (e: Error) => {
        this.logger.warn(`event pruning (${reason}) failed: ${e.message}`);
        return 0;
      },
    );
    this.running = run;
    return run;
  }
}
