import { randomUUID } from 'node:crypto';
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DevicesService } from '../devices/devices.service';
import { FleetTargetJobRepository } from './fleet-target-job.repository';

/**
 * Devices published per step: progress is recorded (and the lease renewed) after each, so a
 * restart repeats at most one batch. One batch of 1,000 is ~0.1 s of signing and publishing.
 */
const PUBLISH_BATCH = 1000;
/** How often a replica looks for running jobs nobody holds (after a restart, or a replica that died). */
const RESUME_EVERY_MS = 5000;

/**
 * Carries out fleet-target jobs in the background, like the rollout engine does rollouts:
 * assign (one statement, committed with the job's record of it), then publish batch by batch,
 * recording progress. Level-triggered where it matters: each publish sends the device's desired
 * state as the database holds it then, so a superseded or repeated batch cannot send a stale one.
 */
@Injectable()
export class FleetTargetJobs implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('FleetTargets');
  /** This process's lease identity: a restarted control plane is a new owner. */
  private readonly owner = randomUUID();
  private readonly running = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private looking: Promise<void> = Promise.resolve();

  constructor(
    private readonly jobs: FleetTargetJobRepository,
    private readonly devices: DevicesService,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => (this.looking = this.resumeUnclaimed()), RESUME_EVERY_MS);
    this.looking = this.resumeUnclaimed();
  }

  /** Lets the current batch finish, then hands the leases back so the next start resumes at once. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.looking;
    await Promise.allSettled(this.running.values());
    await this.jobs.release(this.owner).catch((e: Error) => this.logger.warn(`could not release fleet-target leases: ${e.message}`));
  }

  /** Starts the job in the background (no-op if this replica runs it already). */
  start(id: string): void {
    if (this.stopping || this.running.has(id)) return;
    const run = this.run(id)
      .catch((e: Error) => this.logger.warn(`fleet-target job ${id} paused (${e.message}); it resumes within ${RESUME_EVERY_MS / 1000} s`))
      .finally(() => this.running.delete(id));
    this.running.set(id, run);
  }

  private async resumeUnclaimed(): Promise<void> {
    try {
      const ids = await this.jobs.unclaimed();
      for (const id of ids) this.start(id);
    } catch (e) {
      this.logger.warn(`could not look for fleet-target jobs to resume: ${(e as Error).message}`);
    }
  }

  private async run(id: string): Promise<void> {
    let job = await this.jobs.claim(id, this.owner);
    if (!job) return;
    if (job.deviceIds === null) {
      const assigned = await this.jobs.assignOnce(id, (uow, fleetId, releaseId) => this.devices.assignFleetTarget(uow, fleetId, releaseId));
      if (!assigned) return;
      job = await this.jobs.claim(id, this.owner);
      if (!job) return;
    }
    const ids = job.deviceIds ?? [];
    for (let done = job.view.published; done < ids.length;) {
      if (this.stopping) return;
      const batch = ids.slice(done, done + PUBLISH_BATCH);
      await this.devices.publishCurrent(batch);
      done += batch.length;
      if (!(await this.jobs.recordPublished(id, this.owner, done))) return;
    }
    await this.jobs.complete(id, this.owner);
  }
}
