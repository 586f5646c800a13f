import type { OperatorRole } from '@flotilla/shared';
import type { RegistryAction } from './registry-token';

/** What a `scope` parameter asks for (Docker's token scope grammar: `repository:NAME:ACTION[,ACTION]`). */
export interface RequestedScope {
  repository: string;
  actions: string[];
}

/** Scopes that are not `repository:` ones (`registry:catalog:*`) are left out: nobody gets them. */
export function parseScopes(scopes: readonly string[]): RequestedScope[] {
  return scopes.flatMap((scope) => {
    const match = /^repository:([^:]+):([a-z*,]+)$/.exec(scope);
    return match ? [{ repository: match[1]!, actions: match[2]!.split(',') }] : [];
  });
}

/** Pushing belongs to those who publish (operators, admins); a viewer reads. */
const ALLOWED: Record<OperatorRole, readonly RegistryAction[]> = { viewer: ['pull'], operator: ['pull', 'push'], admin: ['pull', 'push'] };

/**
 * What an operator key may do of what it asked, per repository: the asked actions its role
 * allows, never more (deletion and `*` are never granted). Repositories left with no action go.
 */
export function grantScopes(role: OperatorRole, requested: readonly RequestedScope[]): { repository: string; actions: RegistryAction[] }[] {
  const byRepository = new Map<string, Set<RegistryAction>>();
  for (const { repository, actions } of requested) {
    const granted = byRepository.get(repository) ?? new Set<RegistryAction>();
    for (const action of actions) if ((ALLOWED[role] as readonly string[]).includes(action)) granted.add(action as RegistryAction);
    byRepository.set(repository, granted);
  }
  return [...byRepository]
    .filter(([, actions]) => actions.size > 0)
    .map(([repository, actions]) => ({ repository, actions: (['pull', 'push'] as const).filter((a) => actions.has(a)) }));
}
