import { KeyedSerialQueue } from './keyed-serial-queue';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('KeyedSerialQueue', () => {
  it('runs one key in order even when earlier tasks are slower', async () => {
    const queue = new KeyedSerialQueue(() => undefined);
    const order: number[] = [];
    void queue.run('a', async () => {
      await tick(20);
      order.push(1);
    });
    void queue.run('a', async () => order.push(2));
    await queue.drain();
    expect(order).toEqual([1, 2]);
    expect(queue.pendingKeys).toBe(0);
  });

  it('runs different keys concurrently', async () => {
    const queue = new KeyedSerialQueue(() => undefined);
    const order: string[] = [];
    void queue.run('slow', async () => {
      await tick(20);
      order.push('slow');
    });
    void queue.run('fast', async () => order.push('fast'));
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
    let done = false;
    void queue.run('a', async () => {
      await tick(5);
      void queue.run('b', async () => {
        await tick(5);
        done = true;
      });
    });
    await queue.drain();
    expect(done).toBe(true);
  });
});
