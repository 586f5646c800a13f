import { Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module';
import { AedesCommandChannel } from './aedes-command-channel';
import { COMMAND_CHANNEL } from './command-channel';
import { CommandsController } from './commands.controller';
import { CommandsService } from './commands.service';

/** Needs the aedes instance from the (global) broker transport. */
@Module({
  imports: [DevicesModule],
  controllers: [CommandsController],
  providers: [{ provide: COMMAND_CHANNEL, useClass: AedesCommandChannel }, CommandsService],
})
export class CommandsModule {}
