import type { ComponentStatus, Reported } from '@flotilla/shared/device';

/** What decides whether `reported` is sent again: everything but the timestamp, so a small board on a metered link sends little. */
export function reportKey(body: Reported): string {
  return JSON.stringify({ ...body, at: undefined });
}

/**
 * Components the engine restarted by itself (its restart policy) since the last report, once per
 * restart: `before` holds each container's restart count as last seen; `counts` replaces it.
 * A container seen for the first time is not a restart.
 */
export function restartsSince(
  before: ReadonlyMap<string, number>,
  components: readonly ComponentStatus[],
): { counts: Map<string, number>; restarted: { name: string; count: number }[] } {
  const counts = new Map<string, number>();
  const restarted: { name: string; count: number }[] = [];
  for (const c of components) {
    if (!c.containerId) continue;
    const count = c.restartCount ?? 0;
    counts.set(c.containerId, count);
    const previous = before.get(c.containerId);
    if (previous !== undefined && count > previous) restarted.push({ name: c.name, count });
  }
  return { counts, restarted };
}
