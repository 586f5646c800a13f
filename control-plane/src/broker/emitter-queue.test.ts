import type { Aedes } from 'aedes';
import { EmitterQueueNotFoundError, Fifo, queueInConstantTime } from './emitter-queue';

describe('Fifo', () => {
  it('gives items back in the order they came, and undefined once empty', () => {
    const q = new Fifo<number>();
    expect(q.shift()).toBeUndefined();
    expect([q.push(1), q.push(2), q.push(3)]).toEqual([1, 2, 3]);
    expect([q.shift(), q.shift()]).toEqual([1, 2]);
    q.push(4);
    expect(q.length).toBe(2);
    expect([q.shift(), q.shift(), q.shift()]).toEqual([3, 4, undefined]);
    expect(q.length).toBe(0);
  });

  it('keeps order and length across its compactions, pushes and shifts interleaved', () => {
    const q = new Fifo<number>();
    const taken: number[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 300; i++) q.push(next++);
      for (let i = 0; i < 250; i++) taken.push(q.shift()!);
      expect(q.length).toBe(next - taken.length);
    }
    while (q.length > 0) taken.push(q.shift()!);
    expect(taken).toEqual(Array.from({ length: next }, (_, i) => i));
  });
});

describe('queueInConstantTime', () => {
  it('refuses an emitter that keeps its queue elsewhere (an aedes upgrade), naming the file to follow it', () => {
    for (const mq of [undefined, {}, { _messageQueue: [], _messageCallbacks: {} }, { _messageQueue: [1], _messageCallbacks: [() => 0] }])
      expect(() => queueInConstantTime({ mq } as unknown as Aedes)).toThrow(EmitterQueueNotFoundError);
    expect(() => queueInConstantTime({} as Aedes)).toThrow(/emitter-queue\.ts must follow the aedes upgrade/);
  });
});
