import { Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module';
import { CommandsController } from './commands.controller';
import { CommandsService } from './commands.service';

/** Needs the `DEVICE_BROKER` port from the (global) broker transport. */
@Module({
  imports: [DevicesModule],
  controllers: [CommandsController],
  providers: [CommandsService],
})
export class CommandsModule {}
