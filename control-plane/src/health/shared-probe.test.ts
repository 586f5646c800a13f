import { SharedProbe } from './shared-probe';

/** A run the test settles by hand, counting how many were started. */
function runs(): { run: () => Promise<string>; started: () => number; settle: (value: string) => void; fail: () => void } {
  const pending: { resolve: (v: string) => void; reject: (e: Error) => void }[] = [];
  return {
    run: () => new Promise<string>((resolve, reject) => pending.push({ resolve, reject })),
    started: () => pending.length,
    settle: (value) => pending.at(-1)!.resolve(value),
    fail: () => pending.at(-1)!.reject(new Error('connection refused')),
  };
}

describe('SharedProbe', () => {
  let now = 0;
  const options = { reuseMs: 1_000, waitMs: 2_000, late: 'late', now: () => now };

  beforeEach(() => {
    now = 0;
  });

  it('runs one check for every caller that asks while it runs', async () => {
    const r = runs();
    const probe = new SharedProbe(r.run, options);
    const answers = Promise.all(Array.from({ length: 50 }, () => probe.get()));
    expect(r.started()).toBe(1);
    r.settle('up');
    expect(await answers).toEqual(Array(50).fill('up'));
  });

  it('reuses an answer for reuseMs, then runs again', async () => {
    const r = runs();
    const probe = new SharedProbe(r.run, options);
    const first = probe.get();
    r.settle('up');
    await first;
    now = 999;
    expect(await probe.get()).toBe('up');
    expect(r.started()).toBe(1);
    now = 1_000;
    const second = probe.get();
    expect(r.started()).toBe(2);
    r.settle('down');
    expect(await second).toBe('down');
  });

  it('answers late after waitMs, and starts no second run while the first hangs', async () => {
    const r = runs();
    const probe = new SharedProbe(r.run, options);
    const first = probe.get();
    jest.advanceTimersByTime(2_000);
    expect(await first).toBe('late');
    const second = probe.get();
    expect(r.started()).toBe(1);
    r.settle('up');
    expect(await second).toBe('up');
  });

  it('answers late for a run that failed, and keeps nothing of it', async () => {
    const r = runs();
    const probe = new SharedProbe(r.run, options);
    const first = probe.get();
    r.fail();
    expect(await first).toBe('late');
    const second = probe.get();
    expect(r.started()).toBe(2);
    r.settle('up');
    expect(await second).toBe('up');
  });
});
