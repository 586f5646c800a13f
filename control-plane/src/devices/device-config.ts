import type { ConfigMap } from '@flotilla/shared';

/** What `desired.config` carries: the fleet's configuration with the device's overrides on top, keys sorted. */
export function effectiveConfig(fleet: ConfigMap | null | undefined, device: ConfigMap | null | undefined): ConfigMap {
  const merged = { ...(fleet ?? {}), ...(device ?? {}) };
  return Object.fromEntries(Object.entries(merged).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
