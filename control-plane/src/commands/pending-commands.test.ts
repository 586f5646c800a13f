import { PendingCommands } from './pending-commands';

const result = (id: string) => ({ schema: 1 as const, id, ok: true, output: 'done' });

describe('PendingCommands', () => {
  it('resolves a waiter with the result of the same id from the same device', async () => {
    const pending = new PendingCommands();
    const waiting = pending.wait('c1', 'dev_a', 10_000);
    expect(pending.settle('dev_b', result('c1'))).toBe(false);
    expect(pending.settle('dev_a', result('other'))).toBe(false);
    expect(pending.settle('dev_a', result('c1'))).toBe(true);
    await expect(waiting).resolves.toEqual(result('c1'));
    expect(pending.size).toBe(0);
  });

  it('resolves undefined at the deadline, and a late result is ignored', async () => {
    // Jest's fake timers (the unit project's default).
    const pending = new PendingCommands();
    const waiting = pending.wait('c1', 'dev_a', 500);
    jest.advanceTimersByTime(500);
    await expect(waiting).resolves.toBeUndefined();
    expect(pending.settle('dev_a', result('c1'))).toBe(false);
  });

  it('cancels every waiter', async () => {
    const pending = new PendingCommands();
    const a = pending.wait('a', 'd', 10_000);
    const b = pending.wait('b', 'd', 10_000);
    pending.cancelAll();
    await expect(Promise.all([a, b])).resolves.toEqual([undefined, undefined]);
  });
});
