import { DomainError, NotFoundError, type DomainIssue } from '../domain-error';

/** A release asks the host for more than the policy of where it would run allows. */
export class HostPowersNotAllowedError extends DomainError {
  readonly kind = 'forbidden';
  constructor(where: string, issues: readonly DomainIssue[]) {
    super(
      'host_powers_not_allowed',
      `the release uses host-level powers that ${where} does not allow; an admin allows them with PUT /api/v1/fleets/<id>/host-policy`,
      issues,
    );
  }
}

/**
 * A narrower policy would not allow what the fleet already runs or is bound to: its target, or a
 * release one of its devices is assigned or pinned to. Devices that join the fleet take its target
 * without another check, so the policy must hold for everything bound to the fleet.
 */
export class HostPolicyInUseError extends DomainError {
  readonly kind = 'conflict';
  constructor(fleetName: string, issues: readonly DomainIssue[]) {
    super(
      'host_policy_in_use',
      `fleet "${fleetName}" is bound to releases that use host-level powers this policy would not allow; move the fleet's target and its devices to releases without them first, then narrow the policy`,
      issues,
    );
  }
}

export class HostPolicyFleetNotFoundError extends NotFoundError {
  constructor(id: string) {
    super('fleet_not_found', `no fleet with id ${id}`);
  }
}
