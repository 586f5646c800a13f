import { Inject, Injectable } from '@nestjs/common';
import {
  REGISTRY_TOKEN_ROUTES,
  REGISTRY_TOKEN_TTL,
  RegistryHost,
  type RegistryToken,
  type RegistryTokenAuthView,
  type SetRegistryTokenAuthRequest,
} from '@flotilla/shared';
import type { OperatorPrincipal } from '../../auth/operator-principal';
import { InvalidRegistryHostError, RegistryServiceUnknownError, RegistryTokenAuthNotFoundError } from '../registries.errors';
import type { TokenSettings } from '../registry-access';
import { grantScopes, parseScopes } from './realm-scope';
import { sameAccess, signRegistryToken, type TokenIssuer } from './registry-token';
import { RegistryTokenAuthRepository, type RegistryTokenAuthRow } from './registry-token-auth.repository';

export const REGISTRY_TOKEN_ISSUER = Symbol('RegistryTokenIssuer');

/** The token endpoint's answer, as Docker clients read it (`token`, and `access_token` for OAuth-minded ones). */
export interface RealmToken {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
}

/** Where the registry's configuration is told to fetch tokens from (the realm in its 401 challenges). */
export const TOKEN_REALM_PATH = REGISTRY_TOKEN_ROUTES.token.path;

/**
 * Registries whose tokens this control plane issues: the project's own, configured with
 * `auth.token` trusting the issuer certificate. Devices get short-lived pull tokens for them
 * instead of a stored password, so there is no password to leak.
 */
@Injectable()
export class RegistryTokenAuthService {
  constructor(
    private readonly rows: RegistryTokenAuthRepository,
    @Inject(REGISTRY_TOKEN_ISSUER) private readonly issuer: TokenIssuer,
  ) {}

  /** `apiUrl`: the control plane as the registry reaches it, for the realm in the configuration it answers. */
  async set(
    host: string,
    request: SetRegistryTokenAuthRequest,
    actor: OperatorPrincipal,
    apiUrl: string,
  ): Promise<{ before: RegistryTokenAuthView | null; after: RegistryTokenAuthView }> {
    const registry = parseHost(host);
    const { before, after } = await this.rows.upsert({
      registry,
      service: request.service ?? registry,
      ttlSeconds: request.ttlSeconds ?? REGISTRY_TOKEN_TTL.defaultSeconds,
      updatedBy: actor.id,
    });
    return { before: before ? this.view(before, apiUrl) : null, after: this.view(after, apiUrl) };
  }

  async list(apiUrl: string): Promise<RegistryTokenAuthView[]> {
    return (await this.rows.list()).map((r) => this.view(r, apiUrl));
  }

  async remove(host: string, apiUrl: string): Promise<RegistryTokenAuthView> {
    const registry = parseHost(host);
    const removed = await this.rows.remove(registry);
    if (!removed) throw new RegistryTokenAuthNotFoundError(registry);
    return this.view(removed, apiUrl);
  }

  async settings(registries: readonly string[]): Promise<Map<string, TokenSettings>> {
    return new Map(
      (await this.rows.findByRegistries(registries)).map((r) => [r.registry, { service: r.service, ttlSeconds: r.ttlSeconds }]),
    );
  }

  /** A pull token for `subject` (a device id, or the control plane itself) on `repositories`. */
  issue(registry: string, settings: TokenSettings, subject: string, repositories: readonly string[], now: Date): RegistryToken {
    const { token, expiresAt } = signRegistryToken(this.issuer, { ...settings, subject, access: sameAccess(repositories, ['pull']), now });
    return { registry, token, expiresAt: expiresAt.toISOString() };
  }

  /**
   * The realm's answer to an operator key (`docker login`/`push`/`pull` against the project's
   * registry): the asked scopes its role allows, for the registry whose `service` is asked.
   */
  async issueForOperator(service: string, scopes: readonly string[], operator: OperatorPrincipal, now: Date): Promise<RealmToken> {
    const row = await this.rows.findByService(service);
    if (!row) throw new RegistryServiceUnknownError(service);
    const access = grantScopes(operator.role, parseScopes(scopes));
    const { token } = signRegistryToken(this.issuer, { service, subject: operator.id, access, ttlSeconds: row.ttlSeconds, now });
    return { token, access_token: token, expires_in: row.ttlSeconds, issued_at: now.toISOString() };
  }

  private view(row: RegistryTokenAuthRow, apiUrl: string): RegistryTokenAuthView {
    const certificatePath = '/etc/docker/registry/flotilla-token-issuer.crt';
    return {
      registry: row.registry,
      service: row.service,
      issuer: this.issuer.name,
      ttlSeconds: row.ttlSeconds,
      rootCertificate: this.issuer.certificate.toString(),
      registryConfig: [
        'auth:',
        '  token:',
        `    realm: ${apiUrl}${TOKEN_REALM_PATH}`,
        `    service: ${JSON.stringify(row.service)}`,
        `    issuer: ${JSON.stringify(this.issuer.name)}`,
        `    rootcertbundle: ${certificatePath}  # rootCertificate, saved there`,
        '',
      ].join('\n'),
      updatedAt: row.updatedAt.toISOString(),
      updatedBy: row.updatedBy,
    };
  }
}

function parseHost(host: string): string {
  const parsed = RegistryHost.safeParse(host);
  if (!parsed.success) throw new InvalidRegistryHostError(host);
  return parsed.data;
}
