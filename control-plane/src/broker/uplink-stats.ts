import { Injectable } from '@nestjs/common';

/** Counters of what the broker edge dropped, for /healthz (process lifetime, not persisted). */
@Injectable()
export class UplinkStats {
  private rejectedCount = 0;
  private failedCount = 0;

  /** A message that failed protocol validation. */
  rejected(): void {
    this.rejectedCount++;
  }

  /** A valid message whose handling failed (database error). */
  failed(): void {
    this.failedCount++;
  }

  snapshot(): { rejected: number; failed: number } {
    return { rejected: this.rejectedCount, failed: this.failedCount };
  }
}
