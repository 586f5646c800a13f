import { ThrottledCount } from './throttled-count';

describe('ThrottledCount', () => {
  it('tells the first at once, then at most once an interval with the count since', () => {
    let now = 0;
    const count = new ThrottledCount(60_000, () => now);
    expect(count.add()).toBe(1);
    for (let i = 0; i < 29; i++) {
      now += 1_000;
      expect(count.add()).toBeUndefined();
    }
    now = 60_000;
    expect(count.add(5)).toBe(34);
    expect(count.due()).toBeUndefined();
  });

  it('tells what waits once the interval passed, and nothing when nothing waits', () => {
    let now = 0;
    const count = new ThrottledCount(1_000, () => now);
    expect(count.due()).toBeUndefined();
    count.add();
    count.add(3);
    expect(count.due()).toBeUndefined();
    now = 1_000;
    expect(count.due()).toBe(3);
    now = 5_000;
    expect(count.due()).toBeUndefined();
  });

  it('tells the next at once after a reset', () => {
    const count = new ThrottledCount(60_000, () => 0);
    count.add();
    expect(count.add()).toBeUndefined();
    count.reset();
    expect(count.add()).toBe(1);
  });
});
