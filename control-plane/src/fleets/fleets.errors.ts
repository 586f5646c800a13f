import { ConflictError, InvalidInputError, NotFoundError } from '../domain-error';

export class FleetNotFoundError extends NotFoundError {
  constructor(id: string) {
    super('fleet_not_found', `no fleet with id ${id}`);
  }
}

export class FleetTargetJobNotFoundError extends NotFoundError {
  constructor(id: string) {
    super('fleet_target_job_not_found', `no fleet-target job with id ${id}`);
  }
}

export class FleetNameConflictError extends ConflictError {
  constructor(name: string) {
    super('fleet_name_conflict', `a fleet named "${name}" already exists; choose another name`);
  }
}

export class ReleaseIncompatibleWithFleetError extends InvalidInputError {
  constructor(fleet: string, version: string, boards: readonly string[]) {
    super(
      'release_incompatible_with_fleet',
      `release ${version} does not declare support for board(s) ${boards.join(', ')} of fleet "${fleet}"; add them to x-flotilla.boards or choose another release`,
      [{ path: 'releaseId', message: `unsupported boards: ${boards.join(', ')}` }],
    );
  }
}
