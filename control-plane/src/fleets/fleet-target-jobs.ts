import { randomUUID } from 'node:crypto';
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Release } from '@flotilla/shared';
import { DevicesService } from '../devices/devices.service';
import { FleetTargetJobRepository } from './fleet-target-job.repository';

/**
 * Devices read and queued per step: progress is recorded (and the lease renewed) as each is
 * handed to the broker, with the next one already queued, so a restart repeats at most two
 * batches. One batch of 1,000 is ~0.1 s of signing and publishing. The first is smaller: the
 * first devices are told after a read of 128 states, not 1,000 (30–100 ms of a 10,000-device
 * fleet's "received by all" with the devices' answers arriving, control-plane/bench/rollout.bench.ts),
 * and the next is read while they go out.
 */
const PUBLISH_BATCH = 1000;
const FIRST_PUBLISH_BATCH = 128;
/** How often a replica looks for running jobs nobody holds (after a restart, or a replica that died). */
const RESUME_EVERY_MS = 5000;

/**
 * Carries out fleet-target jobs in the background, like the rollout engine does rollouts:
 * assign (one statement, committed with the job's record of it), then publish batch by batch
 * through one fan-out, recording progress. Level-triggered where it matters: each batch sends the
 * devices' desired states as the database holds them when it is read (one batch ahead of the
 * broker), never a list kept from the start; a device refuses a rev not newer than the one it
 * holds, so a superseded or repeated batch cannot take it back.
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
    const job = await this.jobs.claim(id, this.owner);
    if (!job) return;
    // Read while the devices are assigned, so the first messages do not wait for it; should it
    // fail, the fan-out reads it again and says why for each device it could not tell.
    const known = this.devices.releaseForDelivery(job.view.releaseId).then(
      (release) => [release],
      () => [],
    );
    const ids =
      job.deviceIds ??
      (await this.jobs.assignOnce(id, this.owner, (uow, fleetId, releaseId) => this.devices.assignFleetTarget(uow, fleetId, releaseId)));
    if (!ids) return;
    if (await this.publish(id, ids, job.view.published, await known)) await this.jobs.complete(id, this.owner);
  }

  /**
   * Publishes the devices from `from` on, through one fan-out: the next batch is read and queued
   * while the one before it is still going out, so the sockets never wait for a batch's last
   * publishes to drain, nor for a read (issue 15). Progress is recorded as each batch, and every
   * one before it, was handed to the broker. False when the job is no longer this replica's, or
   * this process is stopping (the next start resumes it).
   */
  private async publish(id: string, ids: readonly string[], from: number, known: readonly Release[]): Promise<boolean> {
    const fanout = this.devices.desiredFanout(known);
    let previous: { handed: Promise<void>; through: number } | undefined;
    const record = async (): Promise<boolean> => {
      if (!previous) return true;
      await previous.handed;
      return this.jobs.recordPublished(id, this.owner, previous.through);
    };
    try {
      for (let done = from; done < ids.length;) {
        if (this.stopping) return false;
        const batch = ids.slice(done, done + (done === from ? FIRST_PUBLISH_BATCH : PUBLISH_BATCH));
        const handed = fanout.add(await this.devices.currentDesiredStates(batch));
        done += batch.length;
        if (!(await record())) return false;
        previous = { handed, through: done };
      }
      return await record();
    } finally {
      await fanout.end();
    }
  }
}
