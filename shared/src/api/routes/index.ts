import type { ApiRoute, RouteKey } from '../route';
import { AUDIT_ROUTES } from './audit.routes';
import { COMMANDS_ROUTES } from './commands.routes';
import { DASHBOARD_ROUTES } from './dashboard.routes';
import { DELTAS_ROUTES } from './deltas.routes';
import { DEVICES_ROUTES } from './devices.routes';
import { EVENTS_ROUTES } from './events.routes';
import { FLEETS_ROUTES } from './fleets.routes';
import { HEALTH_ROUTES } from './health.routes';
import { HOST_POLICY_ROUTES } from './host-policy.routes';
import { LIBRARY_ROUTES } from './library.routes';
import { OPEN_API_ROUTES } from './openapi.routes';
import { OPERATOR_KEYS_ROUTES } from './operator-keys.routes';
import { PROVISIONING_ROUTES } from './provisioning.routes';
import { READINESS_ROUTES } from './readiness.routes';
import { REGISTRIES_ROUTES } from './registries.routes';
import { REGISTRY_TOKEN_ROUTES } from './registry-token.routes';
import { RELEASES_ROUTES } from './releases.routes';
import { ROLLOUTS_ROUTES } from './rollouts.routes';
import { SIGNING_ROUTES } from './signing.routes';
import { TELEMETRY_ROUTES } from './telemetry.routes';

/** Every route table, by the controller it belongs to (each route bound there with `@ApiEndpoint`). */
export const ROUTE_TABLES = {
  health: HEALTH_ROUTES,
  readiness: READINESS_ROUTES,
  openApi: OPEN_API_ROUTES,
  provisioning: PROVISIONING_ROUTES,
  library: LIBRARY_ROUTES,
  releases: RELEASES_ROUTES,
  signing: SIGNING_ROUTES,
  fleets: FLEETS_ROUTES,
  hostPolicy: HOST_POLICY_ROUTES,
  devices: DEVICES_ROUTES,
  commands: COMMANDS_ROUTES,
  telemetry: TELEMETRY_ROUTES,
  rollouts: ROLLOUTS_ROUTES,
  registries: REGISTRIES_ROUTES,
  registryToken: REGISTRY_TOKEN_ROUTES,
  operatorKeys: OPERATOR_KEYS_ROUTES,
  audit: AUDIT_ROUTES,
  dashboard: DASHBOARD_ROUTES,
  events: EVENTS_ROUTES,
  deltas: DELTAS_ROUTES,
} as const;

type Tables = typeof ROUTE_TABLES;
type AnyRoute = { [T in keyof Tables]: Tables[T][keyof Tables[T]] }[keyof Tables];

/** Every route of the API, in the order of the OpenAPI document. */
export const API_ROUTES: readonly ApiRoute[] = Object.values(ROUTE_TABLES).flatMap((t) => Object.values(t) as ApiRoute[]);

/** Every route by its key (`POST /api/v1/rollouts/:id/pause`): what the typed client is typed from. */
export type ApiRoutes = { [R in AnyRoute as RouteKey<R>]: R };

export {
  HEALTH_ROUTES,
  READINESS_ROUTES,
  OPEN_API_ROUTES,
  PROVISIONING_ROUTES,
  LIBRARY_ROUTES,
  RELEASES_ROUTES,
  SIGNING_ROUTES,
  FLEETS_ROUTES,
  HOST_POLICY_ROUTES,
  DEVICES_ROUTES,
  COMMANDS_ROUTES,
  TELEMETRY_ROUTES,
  ROLLOUTS_ROUTES,
  REGISTRIES_ROUTES,
  REGISTRY_TOKEN_ROUTES,
  OPERATOR_KEYS_ROUTES,
  AUDIT_ROUTES,
  DASHBOARD_ROUTES,
  EVENTS_ROUTES,
  DELTAS_ROUTES,
};
