import { FanoutActivity } from '../devices/fanout-activity';
import { HeldAnswers } from './held-answers';

interface Message {
  id: string;
  payload: Buffer;
}
const message = (id: string, bytes = 10): Message => ({ id, payload: Buffer.alloc(bytes) });

function setup(limits = { messages: 3, bytes: 100, maxHoldMs: 5_000 }) {
  const handled: string[] = [];
  const releases: number[] = [];
  const held = new HeldAnswers<Message>(
    async (m) => {
      if (m.id.startsWith('bad')) throw new Error(`cannot store ${m.id}`);
      handled.push(m.id);
    },
    (count) => releases.push(count),
    limits,
  );
  return { held, handled, releases };
}

describe('HeldAnswers', () => {
  it('hands on nothing until released, then everything in arrival order; each hold settles as its message is handled', async () => {
    const { held, handled, releases } = setup();
    const a = held.hold(message('a'));
    const bad = held.hold(message('bad-b'));
    const c = held.hold(message('c'));
    await Promise.resolve();
    expect(handled).toEqual([]);
    expect(held.size).toBe(3);
    held.release();
    await expect(a).resolves.toBeUndefined();
    await expect(bad).rejects.toThrow('cannot store bad-b');
    await expect(c).resolves.toBeUndefined();
    expect(handled).toEqual(['a', 'c']);
    expect([held.size, releases]).toEqual([0, [3]]);
    held.release();
    expect(releases).toEqual([3]);
  });

  it('hands on the rest when handling one throws at once, failing only that hold', async () => {
    const handled: string[] = [];
    const held = new HeldAnswers<Message>((m) => {
      if (m.id === 'bad') throw new Error('not a promise');
      handled.push(m.id);
      return Promise.resolve();
    });
    const bad = held.hold(message('bad'));
    const good = held.hold(message('good'));
    held.release();
    await expect(bad).rejects.toThrow('not a promise');
    await expect(good).resolves.toBeUndefined();
    expect(handled).toEqual(['good']);
  });

  it('releases by itself maxHoldMs after the first message was held, however long the fan-out lasts', async () => {
    const { held, handled } = setup();
    void held.hold(message('a'));
    jest.advanceTimersByTime(4_000);
    void held.hold(message('b'));
    jest.advanceTimersByTime(999);
    expect(handled).toEqual([]);
    jest.advanceTimersByTime(1);
    await Promise.resolve();
    expect(handled).toEqual(['a', 'b']);
    // The next one held starts a new wait.
    void held.hold(message('c'));
    jest.advanceTimersByTime(4_999);
    await Promise.resolve();
    expect(handled).toEqual(['a', 'b']);
    jest.advanceTimersByTime(1);
    await Promise.resolve();
    expect(handled).toEqual(['a', 'b', 'c']);
  });

  it('at its message bound hands on what it holds before holding the next one, so a device keeps its order', async () => {
    const { held, handled } = setup();
    for (const id of ['a', 'b', 'c', 'd']) void held.hold(message(id));
    await Promise.resolve();
    expect(handled).toEqual(['a', 'b', 'c']);
    expect(held.size).toBe(1);
    held.release();
    await Promise.resolve();
    expect(handled).toEqual(['a', 'b', 'c', 'd']);
  });

  it('at its byte bound likewise', async () => {
    const { held, handled } = setup();
    void held.hold(message('a', 60));
    void held.hold(message('b', 40));
    void held.hold(message('c', 1));
    await Promise.resolve();
    expect(handled).toEqual(['a', 'b']);
    expect(held.size).toBe(1);
  });
});

describe('FanoutActivity', () => {
  it('is busy while any fan-out is in flight, and calls its idle listeners when the last one ends, once', () => {
    const activity = new FanoutActivity();
    let idle = 0;
    activity.onIdle(() => idle++);
    expect(activity.busy).toBe(false);
    const first = activity.begin();
    const second = activity.begin();
    first();
    first();
    expect([activity.busy, idle]).toEqual([true, 0]);
    second();
    expect([activity.busy, idle]).toEqual([false, 1]);
  });
});
