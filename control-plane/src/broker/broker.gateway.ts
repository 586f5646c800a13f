import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { ALL_DEVICES_UPLINK } from '@flotilla/shared';
import type { Aedes, AuthenticateError } from 'aedes';
import { DeviceLinkService } from '../devices/device-link.service';
import { CONNACK, connectDecision, publishDecision, subscribeDecision } from './access-policy';
import { AEDES, MqttServer } from './mqtt-server';
import { UplinkRouter } from './uplink-router';

/**
 * Wires aedes to the domain: who may connect, publish and subscribe, and where uplink
 * messages and presence go. The control plane uses no MQTT client of its own: it
 * subscribes and publishes inside the broker.
 */
@Injectable()
export class BrokerGateway implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Broker');
  private readonly deliver = (packet: { topic: string; payload: Buffer | string }, done: () => void): void => {
    this.uplink.route(packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
    // Not synchronously: aedes drains its queue of waiting messages through this callback, one
    // stack frame per message, and a burst of thousands overflowed the stack.
    setImmediate(done);
  };

  constructor(
    @Inject(AEDES) private readonly broker: Aedes,
    private readonly server: MqttServer,
    private readonly link: DeviceLinkService,
    private readonly uplink: UplinkRouter,
  ) {}

  onModuleInit(): void {
    this.broker.authenticate = (client, username, password, done) => {
      const decision = connectDecision(client.id, username, password);
      if (!decision.accepted) {
        this.logger.warn(`refused connection of client ${client.id}: ${decision.reason}`);
        return done(authError(decision.returnCode, decision.reason), false);
      }
      this.link.verifyCredentials(decision.deviceId, decision.password).then(
        (ok) => {
          if (ok) return done(null, true);
          this.logger.warn(`refused connection of ${decision.deviceId}: bad credentials`);
          done(authError(CONNACK.BAD_USERNAME_OR_PASSWORD, 'bad username or password'), false);
        },
        (e: Error) => {
          this.logger.error(`cannot check credentials of ${decision.deviceId}: ${e.message}`);
          done(authError(CONNACK.SERVER_UNAVAILABLE, 'server unavailable'), false);
        },
      );
    };
    // MQTT 3.1.1 has no negative PUBACK: refusing a publish disconnects the client.
    this.broker.authorizePublish = (client, packet, done) => {
      if (!client) return done(null);
      const decision = publishDecision(client.id, packet.topic, packet.retain, byteLength(packet.payload));
      if (decision.allowed) return done(null);
      this.logger.warn(`device ${client.id}: ${decision.reason}; disconnecting`);
      done(new Error(decision.reason));
    };
    // A null subscription answers SUBACK 0x80 (failure) and keeps the client connected.
    this.broker.authorizeSubscribe = (client, subscription, done) => {
      const decision = subscribeDecision(client.id, subscription.topic);
      if (decision.allowed) return done(null, subscription);
      this.logger.warn(`device ${client.id}: ${decision.reason}`);
      done(null, null);
    };
    this.broker.on('client', (client) => this.uplink.connected(client.id));
    this.broker.on('clientDisconnect', (client) => this.uplink.disconnected(client.id));
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.link.brokerStarted();
    await new Promise<void>((resolve) => this.broker.subscribe(ALL_DEVICES_UPLINK, this.deliver, resolve));
    await this.server.listen();
  }

  /** Before the database closes: disconnect devices, then let their last writes finish. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.server.close();
    await this.uplink.drain();
  }
}

function authError(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

function byteLength(payload: Buffer | string): number {
  return typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
}
