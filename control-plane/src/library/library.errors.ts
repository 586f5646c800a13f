import { ConflictError, InvalidInputError, NotFoundError, type DomainIssue } from '../domain-error';

export class InvalidComponentError extends InvalidInputError {
  constructor(issues: readonly DomainIssue[]) {
    super('invalid_component', 'the component manifest is not valid', issues);
  }
}

export class ComponentVersionConflictError extends ConflictError {
  constructor(name: string, version: string) {
    super(
      'component_version_conflict',
      `component ${name}@${version} already exists with different content; components are immutable, bump the version`,
    );
  }
}

export class ComponentNotFoundError extends NotFoundError {
  constructor(what: string) {
    super('component_not_found', `no library component ${what}`);
  }
}
