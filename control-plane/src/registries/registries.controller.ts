import { REGISTRIES_ROUTES } from '@flotilla/shared';
import { ApiEndpoint } from '../http/api-endpoint.decorator';
import { Body, Controller, Inject, Req } from '@nestjs/common';
import {
  SetRegistryCredentialsRequest,
  SetRegistryTokenAuthRequest,
  type RegistryCredentialsView,
  type RegistryTokenAuthView,
} from '@flotilla/shared';
import { Actor, noteAuditBefore } from '../auth/actor.decorator';
import type { OperatorPrincipal, OperatorRequest } from '../auth/operator-principal';
import { PathParam } from '../http/path-param';
import { hostHeader, requestAuthority } from '../http/request-authority';
import { ZodBodyPipe } from '../http/zod-body.pipe';
import { REGISTRY_SETTINGS, RegistriesService, type RegistrySettings } from './registries.service';
import { RegistryTokenAuthService } from './tokens/registry-token-auth.service';

interface HttpRequest extends OperatorRequest {
  protocol: string;
  hostname: string;
}

/** Admin only, reads included: who can pull from where is an administrator's business. */
@Controller()
export class RegistriesController {
  constructor(
    private readonly registries: RegistriesService,
    private readonly tokenAuth: RegistryTokenAuthService,
    @Inject(REGISTRY_SETTINGS) private readonly settings: RegistrySettings,
  ) {}

  @ApiEndpoint(REGISTRIES_ROUTES.list)
  list(): Promise<RegistryCredentialsView[]> {
    return this.registries.list();
  }

  @ApiEndpoint(REGISTRIES_ROUTES.set)
  async set(
    @PathParam('host', 'registryHost') host: string,
    @Body(new ZodBodyPipe(SetRegistryCredentialsRequest)) body: SetRegistryCredentialsRequest,
    @Actor() actor: OperatorPrincipal,
    @Req() request: OperatorRequest,
  ): Promise<RegistryCredentialsView> {
    const { before, after } = await this.registries.set(host, body, actor);
    noteAuditBefore(request, before);
    return after;
  }

  @ApiEndpoint(REGISTRIES_ROUTES.remove)
  async remove(@PathParam('host', 'registryHost') host: string, @Req() request: OperatorRequest): Promise<RegistryCredentialsView> {
    const removed = await this.registries.remove(host);
    noteAuditBefore(request, removed);
    return removed;
  }

  /** From now on, devices of the fleet that an admin's provisioning token registered receive the login. */
  @ApiEndpoint(REGISTRIES_ROUTES.grant)
  async grant(
    @PathParam('host', 'registryHost') host: string,
    @PathParam('fleetId', 'uuid') fleetId: string,
    @Actor() actor: OperatorPrincipal,
    @Req() request: OperatorRequest,
  ): Promise<RegistryCredentialsView> {
    const { before, after } = await this.registries.grant(host, fleetId, actor);
    noteAuditBefore(request, before);
    return after;
  }

  @ApiEndpoint(REGISTRIES_ROUTES.revokeGrant)
  async revokeGrant(
    @PathParam('host', 'registryHost') host: string,
    @PathParam('fleetId', 'uuid') fleetId: string,
    @Req() request: OperatorRequest,
  ): Promise<RegistryCredentialsView> {
    const { before, after } = await this.registries.revokeGrant(host, fleetId);
    noteAuditBefore(request, before);
    return after;
  }

  @ApiEndpoint(REGISTRIES_ROUTES.listTokenAuth)
  listTokenAuth(@Req() request: HttpRequest): Promise<RegistryTokenAuthView[]> {
    return this.tokenAuth.list(this.apiUrl(request));
  }

  /** Devices get short-lived pull tokens for this registry instead of any stored login. */
  @ApiEndpoint(REGISTRIES_ROUTES.setTokenAuth)
  async setTokenAuth(
    @PathParam('host', 'registryHost') host: string,
    @Body(new ZodBodyPipe(SetRegistryTokenAuthRequest)) body: SetRegistryTokenAuthRequest,
    @Actor() actor: OperatorPrincipal,
    @Req() request: HttpRequest,
  ): Promise<RegistryTokenAuthView> {
    const { before, after } = await this.tokenAuth.set(host, body, actor, this.apiUrl(request));
    noteAuditBefore(request, before);
    return after;
  }

  @ApiEndpoint(REGISTRIES_ROUTES.removeTokenAuth)
  async removeTokenAuth(@PathParam('host', 'registryHost') host: string, @Req() request: HttpRequest): Promise<RegistryTokenAuthView> {
    const removed = await this.tokenAuth.remove(host, this.apiUrl(request));
    noteAuditBefore(request, removed);
    return removed;
  }

  private apiUrl(request: HttpRequest): string {
    return this.settings.publicApiUrl ?? `${request.protocol}://${requestAuthority(hostHeader(request)).host}`;
  }
}
