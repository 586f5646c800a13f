import {
  DEVICE_RECONNECT_POLICY as P,
  ReconnectSchedule,
  backoffWindowMs,
  bootConnectDelay,
  nextReconnect,
  type ReconnectPolicy,
} from './reconnect';

const TOP = 1 - Number.EPSILON;

describe('reconnect schedule (pure, no clock)', () => {
  it('doubles the window from the base after each failure in a row and stops at the cap', () => {
    const windows = Array.from({ length: 9 }, (_, i) => backoffWindowMs(P, i + 1));
    expect(windows).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    expect(backoffWindowMs(P, 10_000)).toBe(60_000);
  });

  it('draws each delay uniformly from the whole window (full jitter)', () => {
    let failures = 3;
    const step = (random: number) => nextReconnect(P, failures, { kind: 'failed' }, random);
    expect(step(0)).toEqual({ failures: 4, delayMs: 0 });
    expect(step(0.5)).toEqual({ failures: 4, delayMs: 4_000 });
    expect(step(TOP).delayMs).toBe(7_999);
    failures = 50;
    expect(step(TOP).delayMs).toBe(59_999);
  });

  it('starts over after a connection that held, and keeps growing after one that did not', () => {
    expect(nextReconnect(P, 6, { kind: 'dropped', upMs: P.stableMs }, TOP)).toEqual({ failures: 1, delayMs: 999 });
    expect(nextReconnect(P, 6, { kind: 'dropped', upMs: P.stableMs - 1 }, TOP)).toEqual({ failures: 7, delayMs: 59_999 });
  });

  it('after a busy refusal waits the documented busy delay, or its own backoff when that is longer', () => {
    // SERVER_BUSY: 5 s + [0, 10 s).
    expect(nextReconnect(P, 0, { kind: 'busy' }, 0)).toEqual({ failures: 1, delayMs: 5_000 });
    expect(nextReconnect(P, 0, { kind: 'busy' }, TOP)).toEqual({ failures: 1, delayMs: 14_999 });
    expect(nextReconnect(P, 7, { kind: 'busy' }, TOP)).toEqual({ failures: 8, delayMs: 59_999 });
  });

  it('spreads the first connect after boot over its window, counted from boot, and not at all when the window is 0', () => {
    expect(bootConnectDelay(P, TOP, 0)).toBe(29_999);
    expect(bootConnectDelay(P, TOP, 20_000)).toBe(9_999);
    expect(bootConnectDelay(P, TOP, 3_600_000)).toBe(0);
    expect(bootConnectDelay({ ...P, bootSpreadMs: 0 }, TOP, 0)).toBe(0);
  });

  it('treats a random outside [0, 1) as its nearest end, so a bad source never yields a negative or endless delay', () => {
    expect(nextReconnect(P, 0, { kind: 'failed' }, -3).delayMs).toBe(0);
    expect(nextReconnect(P, 0, { kind: 'failed' }, 7).delayMs).toBe(999);
    expect(nextReconnect(P, 0, { kind: 'failed' }, NaN).delayMs).toBe(0);
  });

  it('turns a fleet that lost its broker together into a flat arrival rate (10,000 devices, server away 10 s)', () => {
    // A seeded generator (mulberry32) stands in for Math.random, so the figures are the same every run.
    let seed = 42;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const arrivals = (policy: ReconnectPolicy | 'fixed'): number[] => {
      const perSecond = new Array<number>(120).fill(0);
      for (let d = 0; d < 10_000; d++) {
        let at = 0;
        let failures = 0;
        let outcome: Parameters<typeof nextReconnect>[2] = { kind: 'dropped', upMs: 3_600_000 };
        for (;;) {
          if (policy === 'fixed') at += 5_000;
          else {
            const step = nextReconnect(policy, failures, outcome, random());
            failures = step.failures;
            at += step.delayMs;
          }
          if (at >= 10_000) break;
          outcome = { kind: 'failed' };
        }
        perSecond[Math.floor(at / 1000)]!++;
      }
      return perSecond;
    };
    const fixed = Math.max(...arrivals('fixed'));
    const jittered = arrivals(P);
    // A fixed 5 s period brings every device back in the same second; with the schedule the busiest
    // second (the first one the server is back) holds under a fifth, and the rest come over 10 s and more.
    expect(fixed).toBe(10_000);
    expect(Math.max(...jittered)).toBeLessThan(2_000);
    expect(jittered.slice(10, 20).reduce((a, b) => a + b, 0)).toBeLessThan(8_000);
    expect(jittered.reduce((a, b) => a + b, 0)).toBe(10_000);
  });
});

describe('ReconnectSchedule (one device, fed what its client saw)', () => {
  const schedule = () => new ReconnectSchedule(P, () => TOP);

  it('grows while connects fail, and starts over once a connection held', () => {
    const s = schedule();
    expect([s.closed(0), s.closed(0), s.closed(0)]).toEqual([999, 1_999, 3_999]);
    s.connected(10_000);
    expect(s.closed(10_000 + P.stableMs)).toBe(999);
    s.connected(50_000);
    expect(s.closed(50_001)).toBe(1_999);
  });

  it('counts a busy refusal once, and backs off by its own schedule again after it', () => {
    const s = schedule();
    s.serverBusy();
    expect(s.closed(0)).toBe(14_999);
    expect(s.closed(1)).toBe(1_999);
  });
});
