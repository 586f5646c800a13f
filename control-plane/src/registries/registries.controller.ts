import { Body, Controller, Delete, Get, Put, Req } from '@nestjs/common';
import { PathParam } from '../http/path-param';
import { SetRegistryCredentialsRequest, type RegistryCredentialsView } from '@flotilla/shared';
import { Actor, noteAuditBefore } from '../auth/actor.decorator';
import type { OperatorPrincipal, OperatorRequest } from '../auth/operator-principal';
import { RequireRole } from '../auth/require-role.decorator';
import { ZodBodyPipe } from '../http/zod-body.pipe';
import { RegistriesService } from './registries.service';

/** Admin only, reads included: who can pull from where is an administrator's business. */
@Controller('api/v1/registries')
@RequireRole('admin')
export class RegistriesController {
  constructor(private readonly registries: RegistriesService) {}

  @Get()
  list(): Promise<RegistryCredentialsView[]> {
    return this.registries.list();
  }

  @Put(':host/credentials')
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

  @Delete(':host/credentials')
  async remove(@PathParam('host', 'registryHost') host: string, @Req() request: OperatorRequest): Promise<RegistryCredentialsView> {
    const removed = await this.registries.remove(host);
    noteAuditBefore(request, removed);
    return removed;
  }
}
