import { KeyedSerialQueue } from './keyed-serial-queue';
import { LatestWaiting } from './latest-waiting';

describe('LatestWaiting', () => {
  it("keeps one waiting task per device, with the latest value, behind the device's task in progress", async () => {
    const queue = new KeyedSerialQueue(() => undefined);
    const latest = new LatestWaiting<number>(queue);
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    void queue.run('a', () => blocked);
    const handled: string[] = [];
    const task = (device: string) => async (value: number) => void handled.push(`${device}:${value}`);

    const settled = Array.from({ length: 1000 }, (_, i) => latest.run('a', i, task('a')));
    const other = latest.run('b', 7, task('b'));
    await other;
    expect(handled).toEqual(['b:7']);
    release();
    await Promise.all(settled);
    expect(handled).toEqual(['b:7', 'a:999']);
    expect(latest.replaced).toBe(999);

    // Once started, the task is no longer waiting: the next value is a task of its own.
    await latest.run('a', 1000, task('a'));
    expect(handled).toEqual(['b:7', 'a:999', 'a:1000']);
  });
});
