import { Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module';
import { DatabaseProbeRepository } from './database-probe.repository';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';

@Module({
  imports: [DevicesModule],
  controllers: [HealthController],
  providers: [DatabaseProbeRepository, HealthService],
})
export class HealthModule {}
