import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DevicesModule } from '../devices/devices.module';
import { ProvisioningTokenEntity } from './provisioning-token.entity';
import { ProvisioningTokenRepository } from './provisioning-token.repository';
import { ProvisioningController } from './provisioning.controller';
import { ProvisioningService } from './provisioning.service';

/** Needs an `MQTT_ENDPOINT` provider from a global module (the broker's transport). */
@Module({
  imports: [TypeOrmModule.forFeature([ProvisioningTokenEntity]), DevicesModule],
  controllers: [ProvisioningController],
  providers: [ProvisioningTokenRepository, ProvisioningService],
})
export class ProvisioningModule {}
