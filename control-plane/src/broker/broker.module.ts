import { DynamicModule, Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module';
import { BrokerGateway } from './broker.gateway';
import type { BrokerSettings } from './mqtt-server';
import { DeviceAuthListener } from './rabbitmq/device-auth-listener';
import { UplinkRouter } from './uplink-router';

/**
 * The MQTT edge: access control, uplink handling, presence. Transport pieces come from
 * BrokerTransportModule. Access control is aedes' hooks (embedded) or the routes RabbitMQ's HTTP
 * auth backend calls (external).
 */
@Module({})
export class BrokerModule {
  static forRoot(settings: BrokerSettings): DynamicModule {
    return {
      module: BrokerModule,
      imports: [DevicesModule],
      providers: [UplinkRouter, settings.rabbitmq ? DeviceAuthListener : BrokerGateway],
    };
  }
}
