import { DynamicModule, Global, Module } from '@nestjs/common';
import { Aedes } from 'aedes';
import { MQTT_ENDPOINT, deviceMqttUrl, type MqttEndpoint } from '../provisioning/mqtt-endpoint';
import { AedesDeviceBroker } from './aedes-device-broker';
import { DEVICE_LIMITS, type DeviceLimits } from '../limits/device-limits';
import { LimitStats } from '../limits/limit-stats';
import { CONNECTION_BOUNDS } from '../limits/connection-bounds';
import { boundOutgoingQueues, QueueBound, type OutgoingQueues } from './bounded-queues';
import { AEDES, BROKER_SETTINGS, MqttServer, type BrokerSettings } from './mqtt-server';
import { DEVICE_BROKER } from './device-broker';
import { RabbitMqDeviceBroker } from './rabbitmq/rabbitmq-device-broker';
import { RABBITMQ_SETTINGS, type RabbitMqSettings } from './rabbitmq/rabbitmq-settings';
import { UplinkStats } from './uplink-stats';

/** aedes' `drainTimeout`: a device's socket may go this long without emptying its send buffer (see `embedded`). */
const DRAIN_BACKSTOP_MS = 5 * 60_000;

/**
 * The broker as a transport, with no domain knowledge: the device broker port the domain modules
 * send and listen through, and (embedded) the aedes instance and its listeners. Global so that devices and provisioning get
 * their ports without importing the broker module, which itself depends on them.
 */
@Global()
@Module({})
export class BrokerTransportModule {
  static forRoot(settings: BrokerSettings): DynamicModule {
    return settings.rabbitmq ? BrokerTransportModule.external(settings.rabbitmq) : BrokerTransportModule.embedded(settings);
  }

  /** Devices on a RabbitMQ cluster shared by every replica (FLOTILLA_BROKER=rabbitmq). */
  private static external(rabbitmq: RabbitMqSettings): DynamicModule {
    return {
      module: BrokerTransportModule,
      providers: [
        { provide: RABBITMQ_SETTINGS, useValue: rabbitmq },
        UplinkStats,
        { provide: DEVICE_BROKER, useClass: RabbitMqDeviceBroker },
        { provide: MQTT_ENDPOINT, useValue: { urlForDevice: () => rabbitmq.deviceMqttUrl } satisfies MqttEndpoint },
      ],
      exports: [RABBITMQ_SETTINGS, UplinkStats, DEVICE_BROKER, MQTT_ENDPOINT],
    };
  }

  /** The broker inside this process (`npm start`). */
  private static embedded(settings: BrokerSettings): DynamicModule {
    return {
      module: BrokerTransportModule,
      providers: [
        { provide: BROKER_SETTINGS, useValue: settings },
        {
          provide: AEDES,
          inject: [DEVICE_LIMITS, LimitStats],
          useFactory: async (limits: DeviceLimits, stats: LimitStats) => {
            // A stuck subscriber must not stall delivery to everyone else (docs/architecture.md, "Measured facts"):
            // the server cuts a connection the kernel took nothing from for `sendStallMs` (mqtt-server.ts),
            // and aedes then fails the deliveries waiting on it. A slow link keeps taking bytes, so it is
            // not cut: aedes' own bound, time without a whole drain, would have cut a device reading a
            // large desired state over a slow link at every attempt; it stays as the backstop against a
            // client that takes bytes but never catches up.
            // connectTimeout: a connection that has not sent its whole CONNECT by then is closed (connection-bounds.ts).
            const connectTimeout = (settings.bounds ?? CONNECTION_BOUNDS).mqttConnectMs;
            const broker = await Aedes.createBroker({ drainTimeout: DRAIN_BACKSTOP_MS, connectTimeout });
            // aedes' types leave out its `persistence` field.
            const queues = (broker as unknown as { persistence: OutgoingQueues }).persistence;
            boundOutgoingQueues(queues, new QueueBound(limits.maxQueuedPerDevice), () => stats.count('queuedDropped', {}));
            return broker;
          },
        },
        MqttServer,
        UplinkStats,
        { provide: DEVICE_BROKER, useClass: AedesDeviceBroker },
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
      exports: [AEDES, MqttServer, UplinkStats, DEVICE_BROKER, MQTT_ENDPOINT],
    };
  }
}
