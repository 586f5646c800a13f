import { ForbiddenError, InvalidInputError, NotFoundError } from '../domain-error';

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

export class RegistryTokenAuthNotFoundError extends NotFoundError {
  constructor(registry: string) {
    super(
      'registry_token_auth_not_found',
      `this control plane does not issue tokens for registry ${registry}; GET /api/v1/registries/token-auth lists those it does`,
    );
  }
}

export class RegistryGrantNotFoundError extends NotFoundError {
  constructor(registry: string, fleetId: string) {
    super(
      'registry_grant_not_found',
      `the login for ${registry} is not granted to fleet ${fleetId}; GET /api/v1/registries lists the grants`,
    );
  }
}

/** Devices in a fleet holding a login grant may receive that login: only an admin brings devices into one. */
export class GrantedFleetNeedsAdminError extends ForbiddenError {
  constructor(fleetId: string, what: string) {
    super(
      'granted_fleet_needs_admin',
      `fleet ${fleetId} is granted a registry login, so ${what} needs an admin key; ask an admin, or use a fleet without registry grants`,
    );
  }
}

export class RegistryServiceUnknownError extends NotFoundError {
  constructor(service: string) {
    super(
      'registry_service_unknown',
      `this control plane issues no tokens for service "${service}"; an admin marks the registry with PUT /api/v1/registries/HOST/token-auth`,
    );
  }
}
