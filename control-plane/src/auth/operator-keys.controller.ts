import { OPERATOR_KEYS_ROUTES } from '@flotilla/shared';
import { ApiEndpoint } from '../http/api-endpoint.decorator';
import { Body, Controller, Req } from '@nestjs/common';
import { PathParam } from '../http/path-param';
import { CreateOperatorKeyRequest, type CreatedOperatorKey, type OperatorKeyView } from '@flotilla/shared';
import { ZodBodyPipe } from '../http/zod-body.pipe';
import { Actor } from './actor.decorator';
import { OperatorKeysService } from './operator-keys.service';
import type { OperatorPrincipal, OperatorRequest } from './operator-principal';

@Controller()
export class OperatorKeysController {
  constructor(private readonly keys: OperatorKeysService) {}

  @ApiEndpoint(OPERATOR_KEYS_ROUTES.create)
  create(
    @Body(new ZodBodyPipe(CreateOperatorKeyRequest)) body: CreateOperatorKeyRequest,
    @Actor() actor: OperatorPrincipal,
  ): Promise<CreatedOperatorKey> {
    return this.keys.create(body, actor);
  }

  @ApiEndpoint(OPERATOR_KEYS_ROUTES.list)
  list(): Promise<OperatorKeyView[]> {
    return this.keys.list();
  }

  @ApiEndpoint(OPERATOR_KEYS_ROUTES.revoke)
  async revoke(@PathParam('id', 'uuid') id: string, @Req() request: OperatorRequest): Promise<OperatorKeyView> {
    const revoked = await this.keys.revoke(id);
    request.auditBefore = revoked;
    return revoked;
  }
}
