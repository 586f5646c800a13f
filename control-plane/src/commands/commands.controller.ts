import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { PathParam } from '../http/path-param';
import { SendCommandRequest, type CommandResultView } from '@flotilla/shared';
import { ZodBodyPipe } from '../http/zod-body.pipe';
import { CommandsService } from './commands.service';

@Controller('api/v1/devices/:id/commands')
export class CommandsController {
  constructor(private readonly commands: CommandsService) {}

  /** 200 with the device's result (ok or not), 409 when offline, 504 when it does not answer in time. */
  @Post()
  @HttpCode(HttpStatus.OK)
  send(
    @PathParam('id', 'deviceId') id: string,
    @Body(new ZodBodyPipe(SendCommandRequest)) body: SendCommandRequest,
  ): Promise<CommandResultView> {
    return this.commands.send(id, body);
  }
}
