import type { OperatorRole } from '@flotilla/shared';

const RANK: Record<OperatorRole, number> = { viewer: 0, operator: 1, admin: 2 };

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The role a request needs: what the route declares (its `@ApiEndpoint` access, or `@RequireRole`), else `viewer` for reads
 * and `operator` for anything that changes state. Admin alone manages operator keys.
 */
export function requiredRole(method: string, declared: OperatorRole | undefined): OperatorRole {
  if (declared) return declared;
  return READ_METHODS.has(method.toUpperCase()) ? 'viewer' : 'operator';
}

export function roleSatisfies(role: OperatorRole, needed: OperatorRole): boolean {
  return RANK[role] >= RANK[needed];
}
