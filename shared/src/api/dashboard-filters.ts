/**
 * The values the dashboard's device list filters and sorts by, without zod: the CLI checks
 * `--status` and `--sort` against them, and a file of schemas would load zod for two lists
 * (BENCHMARKS.md "cli start"). `dashboard.ts` builds the query's schema from them.
 */

/** What the dashboard's device list filters by (`status`); the control plane holds the SQL of each. */
export const DASHBOARD_DEVICE_STATUSES = ['online', 'offline', 'updating', 'failed', 'decommissioned'] as const;
export type DashboardDeviceStatus = (typeof DASHBOARD_DEVICE_STATUSES)[number];
export const DASHBOARD_DEVICE_SORTS = ['name', '-name', 'lastSeen', '-lastSeen', 'created', '-created'] as const;
