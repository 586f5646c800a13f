import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DevicesModule } from '../devices/devices.module';
import { FleetsModule } from '../fleets/fleets.module';
import { ProvisioningTokenEntity } from './provisioning-token.entity';
import { ProvisioningTokenRepository } from './provisioning-token.repository';
import { DeviceCertificatesService } from './device-certificates.service';
import { ProvisioningController } from './provisioning.controller';
import { PROVISIONING_SETTINGS, ProvisioningService, type ProvisioningSettings } from './provisioning.service';

/** Needs an `MQTT_ENDPOINT` provider from a global module (the broker's transport) and the global SigningModule. */
@Module({})
export class ProvisioningModule {
  static forRoot(settings: ProvisioningSettings = {}): DynamicModule {
    return {
      module: ProvisioningModule,
      imports: [TypeOrmModule.forFeature([ProvisioningTokenEntity]), DevicesModule, FleetsModule],
      controllers: [ProvisioningController],
      providers: [
        ProvisioningTokenRepository,
        ProvisioningService,
        DeviceCertificatesService,
        { provide: PROVISIONING_SETTINGS, useValue: settings },
      ],
    };
  }
}
