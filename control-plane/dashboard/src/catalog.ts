import type { FleetView, Page, ReleaseView } from '@flotilla/shared';
import { api } from './api';

/** Fleets and releases change rarely: one read per tab, refreshed when a page asks. */
let fleets: Promise<FleetView[]> | undefined;
let releases: Promise<ReleaseView[]> | undefined;

/** Every release, newest first, through all pages (pickers need them all; there are tens, not thousands). */
async function allReleases(): Promise<ReleaseView[]> {
  const all: ReleaseView[] = [];
  let cursor: string | null = null;
  do {
    const page: Page<ReleaseView> = await api('GET /api/v1/releases', { query: { limit: 500, cursor: cursor ?? undefined } });
    all.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}

export const catalog = {
  fleets: (fresh = false) => (fleets = !fresh && fleets ? fleets : api('GET /api/v1/fleets')),
  releases: (fresh = false) => (releases = !fresh && releases ? releases : allReleases()),
};
