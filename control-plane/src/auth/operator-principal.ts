import type { OperatorRole } from '@flotilla/shared';

/** Who is calling: set on the request by the guard, read by the audit log and by services that record an actor. */
export interface OperatorPrincipal {
  /** A key's id, or `bootstrap` for the key from the data directory or `FLOTILLA_API_KEY`. */
  id: string;
  name: string;
  role: OperatorRole;
}

export const BOOTSTRAP_PRINCIPAL: OperatorPrincipal = { id: 'bootstrap', name: 'bootstrap operator key', role: 'admin' };

/** The request as the guard, the audit log and the actor decorator see it (express' types are not a dependency). */
export interface OperatorRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  params?: Record<string, string>;
  route?: { path?: string };
  operator?: OperatorPrincipal;
  /** The state before a change, when a controller knows it; the audit log records it. */
  auditBefore?: unknown;
}
