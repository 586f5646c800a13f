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
    const writes = new CoalescedWrites<string>(
      () => new Promise<void>((resolve) => finish.push(resolve)),
      undefined,
      () => now,
    );
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
});
