import { Injectable } from '@nestjs/common';

/** Counters of what the broker edge dropped, and held, for /metrics (process lifetime, not persisted). */
@Injectable()
export class UplinkStats {
  private rejectedCount = 0;
  private failedCount = 0;
  private rateLimitedCount = 0;
  private oversizedCount = 0;
  /** Device answers held while a fan-out published, and the releases that handed them on (broker/held-answers.ts). */
  private heldCount = 0;
  private releaseCount = 0;

  /** A message that failed protocol validation. */
  rejected(): void {
    this.rejectedCount++;
  }

  /** A valid message whose handling failed (database error). */
  failed(): void {
    this.failedCount++;
  }

  /** A message dropped because its device exceeded its message rate. */
  rateLimited(): void {
    this.rateLimitedCount++;
  }

  /** A connection closed because it announced a packet larger than the broker accepts. */
  oversized(): void {
    this.oversizedCount++;
  }

  /** Answers held during a fan-out, `count` of them, handed on at once. */
  answersReleased(count: number): void {
    this.heldCount += count;
    this.releaseCount++;
  }

  heldSnapshot(): { messages: number; releases: number } {
    return { messages: this.heldCount, releases: this.releaseCount };
  }

  snapshot(): { rejected: number; failed: number; rateLimited: number; oversized: number } {
    return { rejected: this.rejectedCount, failed: this.failedCount, rateLimited: this.rateLimitedCount, oversized: this.oversizedCount };
  }
}
