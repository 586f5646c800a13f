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

export class HostPolicyFleetNotFoundError extends NotFoundError {
  constructor(id: string) {
    super('fleet_not_found', `no fleet with id ${id}`);
  }
}
