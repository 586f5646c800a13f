import { RateLimiter } from './rate-limiter';

const limit = { perSecond: 2, burst: 3, disconnectAfterDrops: 4, abuseWindowMs: 10_000 };

describe('RateLimiter', () => {
  it('accepts a burst, then drops until tokens refill at the given rate', () => {
    const limiter = new RateLimiter(limit);
    expect([0, 0, 0, 0].map((t) => limiter.take('a', t))).toEqual(['accept', 'accept', 'accept', 'drop']);
    expect(limiter.take('a', 499)).toBe('drop');
    expect(limiter.take('a', 500)).toBe('accept');
    expect(limiter.take('a', 500)).toBe('drop');
  });

  it('never stores more than the burst, however long a device was quiet', () => {
    const limiter = new RateLimiter(limit);
    limiter.take('a', 0);
    expect([1e6, 1e6, 1e6, 1e6].map((t) => limiter.take('a', t))).toEqual(['accept', 'accept', 'accept', 'drop']);
  });

  it('asks to disconnect after more drops than allowed within the window, and forgives after it', () => {
    const limiter = new RateLimiter({ ...limit, perSecond: 0.001 });
    for (let i = 0; i < 3; i++) limiter.take('a', 0);
    expect([1, 2, 3, 4].map((t) => limiter.take('a', t))).toEqual(['drop', 'drop', 'drop', 'drop']);
    expect(limiter.take('a', 5)).toBe('disconnect');
    expect(limiter.take('a', 20_000)).toBe('drop');
  });

  it('keeps devices apart', () => {
    const limiter = new RateLimiter(limit);
    for (let i = 0; i < 3; i++) limiter.take('a', 0);
    expect(limiter.take('a', 0)).toBe('drop');
    expect(limiter.take('b', 0)).toBe('accept');
  });

  it('sweeps only what has refilled and left its abuse window: a spent bucket is kept', () => {
    const limiter = new RateLimiter(limit);
    for (let i = 0; i < 4; i++) limiter.take('a', 0);
    limiter.take('b', 0);
    limiter.sweep(1);
    expect(limiter.size).toBe(2);
    expect(limiter.take('a', 1)).toBe('drop');
    // Refilled (3 tokens at 2/s) but 'a' dropped within its abuse window: kept until the window passes.
    limiter.sweep(limit.abuseWindowMs);
    expect(limiter.size).toBe(1);
    limiter.sweep(limit.abuseWindowMs + 2);
    expect(limiter.size).toBe(0);
  });
});
