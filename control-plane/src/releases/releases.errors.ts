import { ConflictError, InvalidInputError, NotFoundError, UnsupportedError, type DomainIssue } from '../domain-error';

export class InvalidManifestError extends InvalidInputError {
  constructor(issues: readonly DomainIssue[]) {
    super('invalid_manifest', 'the assembly manifest is not valid', issues);
  }
}

export class UnresolvableImageError extends InvalidInputError {
  constructor(issues: readonly DomainIssue[]) {
    super('unresolvable_image', 'an image given by tag could not be resolved to a digest; a release pins every image by digest', issues);
  }
}

export class ManifestMediaTypeError extends UnsupportedError {
  constructor() {
    super('unsupported_media_type', 'send the assembly manifest as YAML (Content-Type: application/yaml, text/yaml or text/plain)');
  }
}

export class ReleaseVersionConflictError extends ConflictError {
  constructor(name: string, version: string) {
    super(
      'release_version_conflict',
      `release ${name}@${version} already exists with different content; releases are immutable, bump the version`,
    );
  }
}

export class ReleaseNotFoundError extends NotFoundError {
  constructor(id: string) {
    super('release_not_found', `no release with id ${id}`);
  }
}
