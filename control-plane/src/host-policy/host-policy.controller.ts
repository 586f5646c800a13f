import { HOST_POLICY_ROUTES } from '@flotilla/shared';
import { ApiEndpoint } from '../http/api-endpoint.decorator';
import { Body, Controller, Req } from '@nestjs/common';
import { HostPolicy, type FleetHostPolicyView } from '@flotilla/shared';
import { Actor, noteAuditBefore } from '../auth/actor.decorator';
import type { OperatorPrincipal, OperatorRequest } from '../auth/operator-principal';
import { PathParam } from '../http/path-param';
import { ZodBodyPipe } from '../http/zod-body.pipe';
import { HostPolicyService } from './host-policy.service';

@Controller()
export class HostPolicyController {
  constructor(private readonly policies: HostPolicyService) {}

  @ApiEndpoint(HOST_POLICY_ROUTES.get)
  get(@PathParam('id', 'uuid') id: string): Promise<FleetHostPolicyView> {
    return this.policies.get(id);
  }

  /** Admin only: what a fleet's releases may do to its devices' hosts is not an operator's call. */
  @ApiEndpoint(HOST_POLICY_ROUTES.set)
  async set(
    @PathParam('id', 'uuid') id: string,
    @Body(new ZodBodyPipe(HostPolicy)) body: HostPolicy,
    @Actor() actor: OperatorPrincipal,
    @Req() request: OperatorRequest,
  ): Promise<FleetHostPolicyView> {
    const { before, after } = await this.policies.set(id, body, actor);
    noteAuditBefore(request, before);
    return after;
  }
}
