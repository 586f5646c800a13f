import { KeyedSerialQueue } from './keyed-serial-queue';

/** A promise the test opens when it chooses: the order of events is set by the test, not by a timer. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('KeyedSerialQueue', () => {
  it('runs one key in order even when earlier tasks are slower', async () => {
    const queue = new KeyedSerialQueue(() => undefined);
    const order: number[] = [];
    const first = gate();
    void queue.run('a', async () => {
      await first.opened;
      order.push(1);
    });
    void queue.run('a', async () => order.push(2));
    first.open();
    await queue.drain();
    expect(order).toEqual([1, 2]);
    expect(queue.pendingKeys).toBe(0);
  });

  it('runs different keys concurrently', async () => {
    const queue = new KeyedSerialQueue(() => undefined);
    const order: string[] = [];
    const slow = gate();
    void queue.run('slow', async () => {
      await slow.opened;
      order.push('slow');
    });
    // Only 'fast' opens the gate 'slow' waits on: were the keys serialized together, drain would never end.
    void queue.run('fast', async () => {
      order.push('fast');
      slow.open();
    });
    await queue.drain();
    expect(order).toEqual(['fast', 'slow']);
  });

  it('reports a failure and goes on with the key', async () => {
    const errors: [string, unknown][] = [];
    const queue = new KeyedSerialQueue((key, error) => errors.push([key, error]));
    const boom = new Error('boom');
    let ranAfter = false;
    void queue.run('a', async () => {
      throw boom;
    });
    await queue.run('a', async () => {
      ranAfter = true;
    });
    expect(errors).toEqual([['a', boom]]);
    expect(ranAfter).toBe(true);
  });

  it('drain also waits for tasks queued while draining', async () => {
    const queue = new KeyedSerialQueue(() => undefined);
    const [a, b, bStarted] = [gate(), gate(), gate()];
    let done = false;
    void queue.run('a', async () => {
      await a.opened;
      void queue.run('b', async () => {
        bStarted.open();
        await b.opened;
        done = true;
      });
    });
    let doneWhenDrained: boolean | undefined;
    const drained = queue.drain().then(() => (doneWhenDrained = done));
    a.open();
    await bStarted.opened;
    // Every pending promise callback runs before setImmediate fires (no clock involved): a drain
    // that forgot 'b' would have resolved by now, while 'b' is still held.
    await new Promise((resolve) => setImmediate(resolve));
    b.open();
    await drained;
    expect(doneWhenDrained).toBe(true);
  });
});
