import { InvalidInputError, NotFoundError } from '../domain-error';

export class InvalidRegistryHostError extends InvalidInputError {
  constructor(host: string) {
    super(
      'invalid_registry_host',
      `"${host}" is not a registry host; use the host as image references spell it, e.g. registry.example.com or 127.0.0.1:5001`,
    );
  }
}

export class RegistryCredentialsNotFoundError extends NotFoundError {
  constructor(registry: string) {
    super('registry_credentials_not_found', `no credentials are stored for registry ${registry}; GET /api/v1/registries lists them`);
  }
}
