import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { REPLICA_ID } from './replica-id';
import { ScheduledJobRepository } from './scheduled-job.repository';

/** How often each replica asks whether a job is due (less for a shorter period). */
const CHECK_EVERY_MS = 60_000;
/** A run not finished after this long counts as dead, and another replica may start the job again. */
const RUN_TIMEOUT_MS = 30 * 60_000;

export type CheckOutcome = 'ran' | 'not-due' | 'failed';

/**
 * Timed jobs (retention) that must run once per period across all replicas, not once per
 * replica: every replica checks on its own timer, and the one whose claim in `scheduled_jobs`
 * succeeds runs the job. Checks and their outcomes are counted per job for `/metrics`.
 */
@Injectable()
export class ScheduledJobs implements BeforeApplicationShutdown {
  private readonly logger = new Logger('Jobs');
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly runs = new Set<Promise<CheckOutcome>>();
  private readonly counts = new Map<string, Record<CheckOutcome, number>>();
  private stopped = false;

  constructor(
    private readonly jobs: ScheduledJobRepository,
    @Inject(REPLICA_ID) private readonly replica: string,
  ) {}

  /** Checks at once, then every minute (or `periodMs` if shorter). */
  every(name: string, periodMs: number, job: () => Promise<unknown>): void {
    this.counts.set(name, { ran: 0, 'not-due': 0, failed: 0 });
    const check = () => void this.check(name, periodMs, job);
    const timer = setInterval(check, Math.min(periodMs, CHECK_EVERY_MS));
    timer.unref();
    this.timers.push(timer);
    check();
  }

  /** Runs the job if it is due and this replica's claim wins. */
  check(name: string, periodMs: number, job: () => Promise<unknown>): Promise<CheckOutcome> {
    if (this.stopped) return Promise.resolve('not-due');
    const run = this.claimAndRun(name, periodMs, job).then((outcome) => {
      const counts = this.counts.get(name);
      if (counts) counts[outcome] += 1;
      return outcome;
    });
    this.runs.add(run);
    void run.finally(() => this.runs.delete(run));
    return run;
  }

  /** Checks per job and outcome since this replica started. */
  snapshot(): { job: string; outcome: CheckOutcome; count: number }[] {
    return [...this.counts].flatMap(([job, counts]) =>
      Object.entries(counts).map(([outcome, count]) => ({ job, outcome: outcome as CheckOutcome, count })),
    );
  }

  /** While the database is still open: no new run, and those under way finish. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    await Promise.all(this.runs);
  }

  private async claimAndRun(name: string, periodMs: number, job: () => Promise<unknown>): Promise<CheckOutcome> {
    let claim;
    try {
      claim = await this.jobs.claim(name, this.replica, RUN_TIMEOUT_MS);
    } catch (e) {
      this.logger.warn(`job ${name}: cannot check whether it is due: ${(e as Error).message}`);
      return 'failed';
    }
    if (!claim) return 'not-due';
    let outcome: CheckOutcome = 'ran';
    try {
      await job();
    } catch (e) {
      outcome = 'failed';
      this.logger.warn(`job ${name} failed (next run in ${periodMs} ms): ${(e as Error).message}`);
    }
    await this.jobs.finish(claim, periodMs).catch((e: Error) => this.logger.warn(`job ${name}: cannot record its end: ${e.message}`));
    return outcome;
  }
}
