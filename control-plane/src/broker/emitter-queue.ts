import type { Aedes } from 'aedes';

/**
 * aedes hands every message to its subscribers through its emitter (mqemitter 7), `concurrency`
 * (100) at a time; the others wait in two arrays, and each released slot takes the next message
 * from their head with `shift()`, which moves the whole rest of a long array. A fan-out's answers
 * arrive 2,000–5,000 a turn, more than the uplink releases in one (RELEASES_PER_TURN), so
 * thousands wait and every release cost time in proportion to them: 1.3 s of the control plane's
 * CPU in a profile of two 10,000-device rollouts (control-plane/bench/rollout.bench.ts). The limit
 * itself is kept: it holds the answers back while a fan-out publishes. Raised to 4,096, the
 * answers were handled as they came and the devices got their desired state no sooner, some
 * rounds much later (BENCHMARKS.md, "session 17"). These queues give the next message in constant
 * time (`npm run bench -- uplink-queue`).
 */
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): number {
    this.items.push(item);
    return this.length;
  }

  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    // The taken half is dropped once it is most of the array: one copy per that many shifts.
    if (this.head >= COMPACT_AFTER && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

const COMPACT_AFTER = 1024;

/** The fields of aedes' emitter that hold the messages waiting for a delivery slot. */
interface EmitterQueues {
  _messageQueue: unknown;
  _messageCallbacks: unknown;
}

/** Thrown at start when aedes' emitter no longer keeps its queue where this file replaces it. */
export class EmitterQueueNotFoundError extends Error {
  constructor() {
    super(
      "aedes' emitter (mqemitter) no longer keeps the messages waiting for a slot in `_messageQueue` and `_messageCallbacks`: " +
        'control-plane/src/broker/emitter-queue.ts must follow the aedes upgrade',
    );
    this.name = 'EmitterQueueNotFoundError';
  }
}

/** Gives `broker`'s emitter queues that take from the head in constant time; before any message flows. */
export function queueInConstantTime(broker: Aedes): void {
  // aedes' types leave out its `mq` field.
  const mq = (broker as unknown as { mq?: Partial<EmitterQueues> }).mq;
  const arrays = [mq?._messageQueue, mq?._messageCallbacks];
  if (!mq || !arrays.every((a) => Array.isArray(a) && a.length === 0)) throw new EmitterQueueNotFoundError();
  mq._messageQueue = new Fifo();
  mq._messageCallbacks = new Fifo();
}
