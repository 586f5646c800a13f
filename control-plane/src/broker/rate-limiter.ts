/**
 * Per-device message rate limit: a token bucket (`burst` tokens, refilled at `perSecond`)
 * decides whether a message is handled; a message without a token is dropped and counted.
 * Persistent abuse, i.e. more than `disconnectAfterDrops` drops within `abuseWindowMs`, asks
 * for the device to be disconnected. Pure: the clock is passed in.
 */
export interface RateLimit {
  perSecond: number;
  burst: number;
  disconnectAfterDrops: number;
  abuseWindowMs: number;
}

/** An agent sends a few messages a minute in steady state and bursts of tens during an update. */
export const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 20, burst: 200, disconnectAfterDrops: 500, abuseWindowMs: 10_000 };

export type RateDecision = 'accept' | 'drop' | 'disconnect';

interface Bucket {
  tokens: number;
  at: number;
  drops: number;
  windowStart: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly limit: RateLimit = DEFAULT_RATE_LIMIT) {}

  take(key: string, nowMs: number): RateDecision {
    let bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, (bucket = { tokens: this.limit.burst, at: nowMs, drops: 0, windowStart: nowMs }));
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + ((nowMs - bucket.at) / 1000) * this.limit.perSecond);
    bucket.at = nowMs;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 'accept';
    }
    if (nowMs - bucket.windowStart > this.limit.abuseWindowMs) {
      bucket.windowStart = nowMs;
      bucket.drops = 0;
    }
    bucket.drops += 1;
    return bucket.drops > this.limit.disconnectAfterDrops ? 'disconnect' : 'drop';
  }

  /**
   * Forgets the buckets that have refilled and whose abuse window has passed: the same as never
   * having seen them, so the map stays as large as the devices recently busy. Not on disconnect:
   * a device that reconnected would start with a full burst, whatever it had just spent.
   */
  sweep(nowMs: number): void {
    for (const [key, bucket] of this.buckets) {
      const tokens = bucket.tokens + ((nowMs - bucket.at) / 1000) * this.limit.perSecond;
      if (tokens >= this.limit.burst && (bucket.drops === 0 || nowMs - bucket.windowStart > this.limit.abuseWindowMs))
        this.buckets.delete(key);
    }
  }

  get size(): number {
    return this.buckets.size;
  }
}
