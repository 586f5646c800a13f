import { Logger } from '@nestjs/common';
import { strictFake } from '../testing/strict-fake';
import type { JobClaim, ScheduledJobRepository } from './scheduled-job.repository';
import { ScheduledJobs } from './scheduled-jobs';

/** The job runs only on a won claim; every outcome is counted, and a won claim is always finished. */
function setup(claims: (JobClaim | undefined | Error)[]) {
  const finished: [JobClaim, number][] = [];
  const repo = strictFake<ScheduledJobRepository>('ScheduledJobRepository', {
    claim: async () => {
      const next = claims.shift();
      if (next instanceof Error) throw next;
      return next;
    },
    finish: async (claim, periodMs) => void finished.push([claim, periodMs]),
  });
  return { jobs: new ScheduledJobs(repo, 'replica-1'), finished };
}

const claim: JobClaim = { name: 'retention', holder: 'replica-1', run: 7 };

describe('ScheduledJobs.check', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('runs the job on a won claim, then records its end with the period', async () => {
    const { jobs, finished } = setup([claim]);
    let runs = 0;
    await expect(jobs.check('retention', 60_000, async () => runs++)).resolves.toBe('ran');
    expect(runs).toBe(1);
    expect(finished).toEqual([[claim, 60_000]]);
  });

  it('does not run a job that is not due or that another replica runs', async () => {
    const { jobs, finished } = setup([undefined]);
    await expect(jobs.check('retention', 60_000, () => Promise.reject(new Error('must not run')))).resolves.toBe('not-due');
    expect(finished).toEqual([]);
  });

  it('counts a failed job and a failed claim, and still ends a failed run', async () => {
    const { jobs, finished } = setup([claim, new Error('database away')]);
    await expect(jobs.check('retention', 1000, () => Promise.reject(new Error('disk full')))).resolves.toBe('failed');
    expect(finished).toEqual([[claim, 1000]]);
    await expect(jobs.check('retention', 1000, async () => undefined)).resolves.toBe('failed');
  });
});
