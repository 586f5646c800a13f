import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ReleasesModule } from '../releases/releases.module';
import { DeviceActivityRepository } from './device-activity.repository';
import { DeviceAssignmentRepository } from './device-assignment.repository';
import { DeviceDirectory } from './device-directory';
import { FanoutActivity } from './fanout-activity';
import { DeviceDirectoryRepository } from './device-directory.repository';
import { DeviceEventPruningRepository } from './device-event-pruning.repository';
import { DeviceEventRetention } from './device-event-retention';
import { DeviceEventEntity } from './device-event.entity';
import { DeviceLinkService } from './device-link.service';
import { DevicePresenceRepository } from './device-presence.repository';
import { DeviceRecordRepository } from './device-record.repository';
import { DeviceReportRepository } from './device-report.repository';
import { DeviceEntity } from './device.entity';
import { DevicesController } from './devices.controller';
import { DevicesService } from './devices.service';
import { PresenceSweep } from './presence-sweep';

/** Needs the `DEVICE_BROKER` port from a global module (the broker's transport), and the global limits. */
@Module({
  imports: [TypeOrmModule.forFeature([DeviceEntity, DeviceEventEntity]), ReleasesModule],
  controllers: [DevicesController],
  providers: [
    DeviceRecordRepository,
    DeviceAssignmentRepository,
    DevicePresenceRepository,
    DeviceReportRepository,
    DeviceActivityRepository,
    DeviceEventPruningRepository,
    DeviceEventRetention,
    DevicesService,
    DeviceLinkService,
    DeviceDirectoryRepository,
    DeviceDirectory,
    PresenceSweep,
    FanoutActivity,
  ],
  exports: [DevicesService, DeviceLinkService, FanoutActivity],
})
export class DevicesModule {}
