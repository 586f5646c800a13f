/**
 * Every GET route that reads across the fleet or one device (from the controllers), for the tests
 * that prove no stored value can make a read fail (issue 13). The server-sent event stream
 * (`/api/v1/events/stream`) is left out: it never ends, and carries change notices, not rows.
 */
export const FLEET_READ_ROUTES = [
  '/api/v1/dashboard/overview',
  '/api/v1/dashboard/devices',
  '/api/v1/dashboard/devices?status=failed',
  '/api/v1/dashboard/devices?status=updating',
  '/api/v1/dashboard/devices?sort=lastSeen',
  '/api/v1/devices',
  '/api/v1/devices?limit=2',
  '/api/v1/rollouts',
  '/api/v1/fleets',
  '/api/v1/releases',
  '/api/v1/audit',
  '/metrics',
  '/healthz',
  '/readyz',
];

export const deviceReadRoutes = (id: string): string[] => [
  `/api/v1/devices/${id}`,
  `/api/v1/dashboard/devices/${id}/events`,
  `/api/v1/devices/${id}/telemetry`,
  `/api/v1/devices/${id}/telemetry?step=60`,
  `/api/v1/devices/${id}/telemetry?from=1970-01-01T00:00:00Z&to=9999-12-31T00:00:00Z`,
];

/** GET `path`; throws with the status and the body's start unless 200; the body parsed (text for /metrics). */
export async function readOk(api: (path: string) => Promise<Response>, path: string): Promise<unknown> {
  const res = await api(path);
  const body = await res.text();
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${body.slice(0, 500)}`);
  return path === '/metrics' ? body : JSON.parse(body);
}
