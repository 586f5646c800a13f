import { CoalescedWrites } from './coalesced-writes';

/** A flush that records its batches and finishes only when the test says so. */
function recorder() {
  const batches: string[][] = [];
  const finish: (() => void)[] = [];
  let failNext: Error | undefined;
  const writes = new CoalescedWrites<string>(async (batch) => {
    batches.push([...batch]);
    if (failNext) {
      const e = failNext;
      failNext = undefined;
      throw e;
    }
    await new Promise<void>((resolve) => finish.push(resolve));
  });
  return { writes, batches, finish, failOnce: (e: Error) => void (failNext = e) };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('CoalescedWrites', () => {
  it('writes what arrives during a flush together in the next one, in the order added', async () => {
    const { writes, batches, finish } = recorder();
    const first = writes.add('a1');
    await tick();
    expect(batches).toEqual([['a1']]);
    const later = [writes.add('b1'), writes.add('a2'), writes.add('b2')];
    await tick();
    expect(batches).toHaveLength(1);
    finish.shift()!();
    await first;
    await tick();
    expect(batches[1]).toEqual(['b1', 'a2', 'b2']);
    finish.shift()!();
    await Promise.all(later);
  });

  it('lets each caller of a failed flush see the failure, and carries on with the next one', async () => {
    const { writes, batches, finish, failOnce } = recorder();
    failOnce(new Error('database gone'));
    await expect(writes.add('a1')).rejects.toThrow('database gone');
    const next = writes.add('a2');
    await tick();
    expect(batches).toEqual([['a1'], ['a2']]);
    finish.shift()!();
    await expect(next).resolves.toBeUndefined();
  });

  it('tells how long its oldest value queued or in flight has waited, and 0 once all are written', async () => {
    let now = 1000;
    const finish: (() => void)[] = [];
    const writes = new CoalescedWrites<string>(() => new Promise<void>((resolve) => finish.push(resolve)), { now: () => now });
    expect(writes.lagMs).toBe(0);
    const first = writes.add('a');
    now = 1500;
    await tick();
    const second = writes.add('b');
    now = 4000;
    // 'a' is in flight since 1000, 'b' waits since 1500: the older counts.
    expect(writes.lagMs).toBe(3000);
    finish.shift()!();
    await first;
    await tick();
    expect(writes.lagMs).toBe(2500);
    finish.shift()!();
    await second;
    expect(writes.lagMs).toBe(0);
  });

  it('spaces the starts of its flushes: a burst waits and goes in one batch, a value after a quiet spell goes at once', async () => {
    const spacingMs = 150;
    const starts: number[] = [];
    const batches: string[][] = [];
    const writes = new CoalescedWrites<string>(
      async (batch) => {
        starts.push(performance.now());
        batches.push([...batch]);
      },
      { spacingMs },
    );
    const t0 = performance.now();
    await writes.add('a');
    // Flushed at once: nothing was written before it.
    expect(starts).toEqual([t0]);
    const burst = ['b', 'c', 'd'].map((v) => writes.add(v));
    await jest.advanceTimersByTimeAsync(spacingMs - 1);
    expect(batches).toEqual([['a']]);
    await jest.advanceTimersByTimeAsync(1);
    await Promise.all(burst);
    expect(batches).toEqual([['a'], ['b', 'c', 'd']]);
    expect(starts[1]).toBe(t0 + spacingMs);
    // Quiet for longer than the spacing: the next value does not wait.
    await jest.advanceTimersByTimeAsync(2 * spacingMs);
    const t1 = performance.now();
    await writes.add('e');
    expect(starts[2]).toBe(t1);
  });

  it('skips a value equal to the one stored for its key, but not one its flush dropped (notStored)', async () => {
    const batches: string[][] = [];
    const writes: CoalescedWrites<string> = new CoalescedWrites<string>(
      async (batch) => {
        batches.push([...batch]);
        // The row for key "a" is refused (a bad row, a database refusing writes); the flush itself succeeds.
        if (batch.includes('a:1')) writes.notStored('a');
      },
      { skip: { key: (v) => v.split(':')[0]!, fingerprint: (v) => v } },
    );
    await Promise.all([writes.add('a:1'), writes.add('b:1')]);
    await Promise.all([writes.add('a:1'), writes.add('b:1')]);
    expect(batches).toEqual([['a:1', 'b:1'], ['a:1']]);
    expect(writes.skipped).toBe(1);
  });

  it('keeps one waiting value per key, however many arrive while a flush is in flight', async () => {
    const batches: string[][] = [];
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const writes = new CoalescedWrites<string>(
      async (batch) => {
        batches.push([...batch]);
        if (batches.length === 1) await blocked;
      },
      // merge keeps what the first waiting value of a key said (as a report's firstOfConnection).
      {
        skip: {
          key: (v) => v.split(':')[0]!,
          fingerprint: (v) => v,
          merge: (older, newer) => `${newer.split('<')[0]}<${older.split(':')[1]!.split('<').at(-1)}`,
        },
      },
    );
    const first = writes.add('x:0');
    await tick();
    // The database is away: 3,000 values of 3 keys arrive while the first flush waits.
    const waiting = Array.from({ length: 3_000 }, (_, i) => writes.add(`${'abc'[i % 3]}:${i}`));
    expect(writes.queued).toBe(1 + 3);
    release();
    await Promise.all([first, ...waiting]);
    expect(batches).toEqual([['x:0'], ['a:2997<0', 'b:2998<1', 'c:2999<2']]);
    expect(writes.merged).toBe(2_997);
    // Settled once per key: an unchanged value is skipped again.
    await writes.add('a:2997<0');
    expect(writes.skipped).toBe(1);
  });
});
