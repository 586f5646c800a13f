import { DynamicModule, Global, Module } from '@nestjs/common';
import { Aedes } from 'aedes';
import { DESIRED_PUBLISHER } from '../devices/desired-publisher';
import { DEVICE_SESSIONS } from '../devices/device-sessions';
import { MQTT_ENDPOINT, deviceMqttUrl, type MqttEndpoint } from '../provisioning/mqtt-endpoint';
import { AedesDesiredPublisher } from './aedes-desired-publisher';
import { DEVICE_LIMITS, type DeviceLimits } from '../limits/device-limits';
import { LimitStats } from '../limits/limit-stats';
import { AedesDeviceSessions } from './aedes-device-sessions';
import { boundOutgoingQueues, QueueBound, type OutgoingQueues } from './bounded-queues';
import { AEDES, BROKER_SETTINGS, MqttServer, type BrokerSettings } from './mqtt-server';
import { UplinkStats } from './uplink-stats';

/**
 * The broker as a transport, with no domain knowledge: the aedes instance, its TCP listener,
 * and the ports the domain modules send through. Global so that devices and provisioning get
 * their ports without importing the broker module, which itself depends on them.
 */
@Global()
@Module({})
export class BrokerTransportModule {
  static forRoot(settings: BrokerSettings): DynamicModule {
    return {
      module: BrokerTransportModule,
      providers: [
        { provide: BROKER_SETTINGS, useValue: settings },
        {
          provide: AEDES,
          inject: [DEVICE_LIMITS, LimitStats],
          useFactory: async (limits: DeviceLimits, stats: LimitStats) => {
            // A slow or stuck subscriber must not stall delivery to everyone else (docs/architecture.md, "Measured facts").
            const broker = await Aedes.createBroker({ drainTimeout: 10_000 });
            // aedes' types leave out its `persistence` field.
            const queues = (broker as unknown as { persistence: OutgoingQueues }).persistence;
            boundOutgoingQueues(queues, new QueueBound(limits.maxQueuedPerDevice), () => stats.count('queuedDropped', {}));
            return broker;
          },
        },
        MqttServer,
        UplinkStats,
        { provide: DESIRED_PUBLISHER, useClass: AedesDesiredPublisher },
        { provide: DEVICE_SESSIONS, useClass: AedesDeviceSessions },
        {
          provide: MQTT_ENDPOINT,
          inject: [MqttServer],
          useFactory: (server: MqttServer): MqttEndpoint => ({
            urlForDevice: (host) => {
              const securePort = server.securePort;
              return deviceMqttUrl(
                settings.publicUrl,
                host,
                securePort ? { port: securePort, tls: true } : { port: server.port, tls: false },
              );
            },
          }),
        },
      ],
      exports: [AEDES, MqttServer, UplinkStats, DESIRED_PUBLISHER, DEVICE_SESSIONS, MQTT_ENDPOINT],
    };
  }
}
