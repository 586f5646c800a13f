import { randomUUID } from 'node:crypto';
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { DesiredFanout } from '../devices/desired-publisher';
import { DevicesService } from '../devices/devices.service';
import { FleetTargetJobRepository } from './fleet-target-job.repository';

/**
 * Devices assigned in the job's first transaction: the first devices are told after a write of
 * 128 rows, not of the whole fleet (one statement for 10,000 devices: 440 ms before the first was
 * told, control-plane/bench/rollout.bench.ts); the rest go in one statement while they are told.
 * Not more segments: each costs its transaction's round trips, each waiting for a turn of the
 * event loop while the fan-out runs, and segments doubling up to 4,096 made the last device wait
 * longer than one statement did (BENCHMARKS.md, "Issue 15 item 3, session 18").
 */
const FIRST_SEGMENT = 128;
/** Assigned devices read and queued per step: the first step small, so they are told after a read of 128 states, not 1,000. */
const PUBLISH_BATCH = 1000;
const FIRST_PUBLISH_BATCH = 128;
/** How often a replica looks for running jobs nobody holds (after a restart, or a replica that died). */
const RESUME_EVERY_MS = 5000;

/**
 * Carries out fleet-target jobs in the background, like the rollout engine does rollouts: assign
 * in two segments (each one statement, committed with the job's record of it), the first 128
 * devices then the rest, and publish the devices batch by batch through one fan-out, the first
 * batch while the rest are written, recording progress. Progress
 * is recorded as each step, and every one before it, was handed to the broker, so a restart
 * repeats at most two steps. Level-triggered where it matters: each step sends the devices'
 * desired states as the database holds them when it is read (one step ahead of the broker), never
 * a list kept from the start; a device refuses a rev not newer than the one it holds, so a
 * superseded or repeated step cannot take it back.
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

  /**
   * Tells the devices a previous run assigned and did not tell yet, assigns the rest (the first
   * 128 of a fleet on their own), and tells them, batch by batch. Stops, the job left running,
   * when it is no longer this replica's or this process is stopping (the next start resumes it),
   * and when a newer target superseded it.
   */
  private async run(id: string): Promise<void> {
    const job = await this.jobs.claim(id, this.owner);
    if (!job) return;
    // Read while the first segment is assigned, so its devices do not wait for it; should it
    // fail, the fan-out reads it again and says why for each device it could not tell.
    const known = this.devices.releaseForDelivery(job.view.releaseId).then(
      (release) => [release],
      () => [],
    );
    const assigned = [...(job.deviceIds ?? [])];
    let assignedAll = job.assignedAll;
    const from = job.view.published;
    let fanout: DesiredFanout | undefined;
    let previous: { handed: Promise<void>; through: number } | undefined;
    const record = async (): Promise<boolean> => {
      if (!previous) return true;
      await previous.handed;
      return this.jobs.recordPublished(id, this.owner, previous.through);
    };
    try {
      for (let done = from; done < assigned.length || !assignedAll;) {
        if (this.stopping) return;
        if (done === assigned.length) {
          const limit = assigned.length === 0 ? FIRST_SEGMENT : null;
          const next = await this.jobs.assignSegment(id, this.owner, (uow, start) =>
            this.devices.assignFleetTargetSegment(uow, { ...start, limit }),
          );
          if (!next) return;
          assigned.push(...next.ids);
          assignedAll = next.last;
          continue;
        }
        const step = assigned.slice(done, done + (done === from ? FIRST_PUBLISH_BATCH : PUBLISH_BATCH));
        fanout ??= this.devices.desiredFanout(await known);
        const handed = fanout.add(await this.devices.currentDesiredStates(step));
        done += step.length;
        if (!(await record())) return;
        previous = { handed, through: done };
      }
      if (await record()) await this.jobs.complete(id, this.owner);
    } finally {
      await fanout?.end();
    }
  }
}
