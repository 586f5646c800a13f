import { Injectable } from '@nestjs/common';

/** Counters of what the broker edge dropped, and held, for /metrics (process lifetime, not persisted). */
@Injectable()
export class UplinkStats {
  private rejectedCount = 0;
  private failedCount = 0;
  private rateLimitedCount = 0;
  private oversizedCount = 0;

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

  /** Device answers held while a fan-out published, and how many times they were handed on (broker/held-answers.ts). */
  readonly held = { messages: 0, releases: 0 };

  answersReleased(count: number): void {
    this.held.messages += count;
    this.held.releases++;
  }

  snapshot(): { rejected: number; failed: number; rateLimited: number; oversized: number } {
    return { rejected: this.rejectedCount, failed: this.failedCount, rateLimited: this.rateLimitedCount, oversized: this.oversizedCount };
  }
}
