import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';

/** A replica's claim on one run of a job; `run` (the job's run count) tells this run from a later one. */
export interface JobClaim {
  name: string;
  holder: string;
  run: number;
}

/**
 * When each timed job is due and who runs it now (`scheduled_jobs`). A claim succeeds for one
 * replica only: the job is due and nobody runs it, or its runner has not finished within
 * `timeoutMs` (it died: the next claimer runs the job again; jobs are idempotent).
 */
@Injectable()
export class ScheduledJobRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async claim(name: string, holder: string, timeoutMs: number): Promise<JobClaim | undefined> {
    await this.db.query('INSERT INTO scheduled_jobs (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [name]);
    const [rows] = (await this.db.query(
      `UPDATE scheduled_jobs SET holder = $2, running_until = now() + $3 * interval '1 millisecond', runs = runs + 1, last_started_at = now()
        WHERE name = $1 AND next_due_at <= now() AND (running_until IS NULL OR running_until < now())
        RETURNING runs`,
      [name, holder, timeoutMs],
    )) as [{ runs: string }[], number];
    return rows[0] && { name, holder, run: Number(rows[0].runs) };
  }

  /** The next run is due `periodMs` after this one finished; a claim taken over meanwhile is left alone. */
  async finish(claim: JobClaim, periodMs: number): Promise<void> {
    await this.db.query(
      `UPDATE scheduled_jobs SET holder = NULL, running_until = NULL, last_finished_at = now(), next_due_at = now() + $4 * interval '1 millisecond'
        WHERE name = $1 AND holder = $2 AND runs = $3`,
      [claim.name, claim.holder, claim.run, periodMs],
    );
  }
}
