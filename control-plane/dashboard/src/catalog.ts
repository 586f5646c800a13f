import type { FleetView, ReleaseView } from '@flotilla/shared';
import { api } from './api';

/** Fleets and releases change rarely: one read per tab, refreshed when a page asks. */
let fleets: Promise<FleetView[]> | undefined;
let releases: Promise<ReleaseView[]> | undefined;

export const catalog = {
  fleets: (fresh = false) => (fleets = !fresh && fleets ? fleets : api<FleetView[]>('/api/v1/fleets')),
  releases: (fresh = false) => (releases = !fresh && releases ? releases : api<ReleaseView[]>('/api/v1/releases')),
};
