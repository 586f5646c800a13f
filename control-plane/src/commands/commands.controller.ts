import { COMMANDS_ROUTES } from '@flotilla/shared';
import { ApiEndpoint } from '../http/api-endpoint.decorator';
import { Body, Controller } from '@nestjs/common';
import { AuditOmits } from '../audit/no-audit.decorator';
import { PathParam } from '../http/path-param';
import { SendCommandRequest, type CommandResultView } from '@flotilla/shared';
import { ZodBodyPipe } from '../http/zod-body.pipe';
import { CommandsService } from './commands.service';

@Controller()
export class CommandsController {
  constructor(private readonly commands: CommandsService) {}

  /** 200 with the device's result (ok or not), 409 when offline, 504 when it does not answer in time. */
  @ApiEndpoint(COMMANDS_ROUTES.send)
  @AuditOmits('output')
  send(
    @PathParam('id', 'deviceId') id: string,
    @Body(new ZodBodyPipe(SendCommandRequest)) body: SendCommandRequest,
  ): Promise<CommandResultView> {
    return this.commands.send(id, body);
  }
}
