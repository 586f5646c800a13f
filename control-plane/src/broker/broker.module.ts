import { Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module';
import { BrokerGateway } from './broker.gateway';
import { UplinkRouter } from './uplink-router';

/** The MQTT edge: access control, uplink handling, presence. Transport pieces come from BrokerTransportModule. */
@Module({
  imports: [DevicesModule],
  providers: [UplinkRouter, BrokerGateway],
})
export class BrokerModule {}
