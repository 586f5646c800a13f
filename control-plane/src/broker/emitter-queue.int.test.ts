import { Aedes } from 'aedes';
import { Fifo, queueInConstantTime } from './emitter-queue';

/**
 * Integration (a real aedes and its emitter): the emitter keeps the messages past its concurrency
 * in the queues `queueInConstantTime` gives it, and delivers all of them in order.
 */
let broker: Aedes;
beforeEach(async () => {
  broker = await Aedes.createBroker();
  queueInConstantTime(broker);
});
afterEach(() => new Promise<void>((resolve) => broker.close(() => resolve())));

it('holds a burst past the concurrency in its constant-time queue and delivers every message in order', async () => {
  const mq = (broker as unknown as { mq: { _messageQueue: Fifo<unknown>; concurrency: number } }).mq;
  const count = 3 * mq.concurrency;
  const delivered: number[] = [];
  let mostWaiting = 0;
  await new Promise<void>((resolve) =>
    broker.subscribe(
      'burst/+',
      (packet, done) => {
        delivered.push(Number(packet.topic.split('/')[1]));
        mostWaiting = Math.max(mostWaiting, mq._messageQueue.length);
        // Held a turn, as the uplink holds a slot past its budget: the burst queues behind it.
        setImmediate(done);
      },
      resolve,
    ),
  );
  const published = Array.from(
    { length: count },
    (_, i) =>
      new Promise<void>((resolve, reject) =>
        broker.publish({ cmd: 'publish', topic: `burst/${i}`, payload: Buffer.from('x'), qos: 1, retain: false, dup: false }, (e) =>
          e ? reject(e) : resolve(),
        ),
      ),
  );
  await Promise.all(published);
  expect(delivered).toEqual(Array.from({ length: count }, (_, i) => i));
  // The emitter used these queues: the burst waited in them, and they are empty again.
  expect(mq._messageQueue).toBeInstanceOf(Fifo);
  expect(mostWaiting).toBeGreaterThan(0);
  expect(mostWaiting).toBeLessThanOrEqual(count - mq.concurrency);
  expect(mq._messageQueue.length).toBe(0);
});
