import { Body, Controller, Delete, Get, Post, Req } from '@nestjs/common';
import { PathParam } from '../http/path-param';
import { CreateOperatorKeyRequest, type CreatedOperatorKey, type OperatorKeyView } from '@flotilla/shared';
import { ZodBodyPipe } from '../http/zod-body.pipe';
import { Actor } from './actor.decorator';
import { OperatorKeysService } from './operator-keys.service';
import type { OperatorPrincipal, OperatorRequest } from './operator-principal';
import { RequireRole } from './require-role.decorator';

@Controller('api/v1/operators/keys')
@RequireRole('admin')
export class OperatorKeysController {
  constructor(private readonly keys: OperatorKeysService) {}

  @Post()
  create(
    @Body(new ZodBodyPipe(CreateOperatorKeyRequest)) body: CreateOperatorKeyRequest,
    @Actor() actor: OperatorPrincipal,
  ): Promise<CreatedOperatorKey> {
    return this.keys.create(body, actor);
  }

  @Get()
  list(): Promise<OperatorKeyView[]> {
    return this.keys.list();
  }

  @Delete(':id')
  async revoke(@PathParam('id', 'uuid') id: string, @Req() request: OperatorRequest): Promise<OperatorKeyView> {
    const revoked = await this.keys.revoke(id);
    request.auditBefore = revoked;
    return revoked;
  }
}
