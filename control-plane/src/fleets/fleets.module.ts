import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DevicesModule } from '../devices/devices.module';
import { ReleasesModule } from '../releases/releases.module';
import { FleetEntity } from './fleet.entity';
import { FleetRepository } from './fleet.repository';
import { FleetTargetJobRepository } from './fleet-target-job.repository';
import { FleetTargetJobs } from './fleet-target-jobs';
import { FleetsController } from './fleets.controller';
import { FleetsService } from './fleets.service';

@Module({
  imports: [TypeOrmModule.forFeature([FleetEntity]), DevicesModule, ReleasesModule],
  controllers: [FleetsController],
  providers: [FleetRepository, FleetsService, FleetTargetJobRepository, FleetTargetJobs],
  exports: [FleetsService],
})
export class FleetsModule {}
