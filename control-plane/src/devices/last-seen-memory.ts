/**
 * How stale a device's `last_seen_at` may be while it keeps sending: a message within this long of
 * the last write of it by this process writes nothing. Well inside the 30 s within which presence
 * reconciliation trusts a device's own word over the broker's connection list
 * (device-link.service.ts), and finer than anything the dashboard shows.
 */
export const LAST_SEEN_RESOLUTION_MS = 5_000;

/**
 * When this process last wrote each device's `last_seen_at` (a report, a presence change, a touch),
 * for as long as that makes another touch pointless. Two generations of at most `resolutionMs`
 * each, swapped as time passes: only devices written within the last two periods are held, with
 * no timer and no sweep.
 */
export class LastSeenMemory {
  private current = new Map<string, number>();
  private previous = new Map<string, number>();
  private rotatedAt: number;

  constructor(
    private readonly resolutionMs = LAST_SEEN_RESOLUTION_MS,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.rotatedAt = now();
  }

  /** `ids` had `last_seen_at` written by a statement that started no earlier than `at` (this clock). */
  wrote(ids: Iterable<string>, at = this.now()): void {
    this.rotate();
    for (const id of ids) this.current.set(id, at);
  }

  /** Written within the resolution: a touch now would change nothing anyone reads. */
  recent(id: string): boolean {
    this.rotate();
    const at = this.current.get(id) ?? this.previous.get(id);
    return at !== undefined && this.now() - at < this.resolutionMs;
  }

  private rotate(): void {
    const now = this.now();
    const since = now - this.rotatedAt;
    if (since < this.resolutionMs) return;
    // Entries of `current` were written before `now`; after two periods none of them is recent.
    this.previous = since < 2 * this.resolutionMs ? this.current : new Map();
    this.current = new Map();
    this.rotatedAt = now;
  }
}
