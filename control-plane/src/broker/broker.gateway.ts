import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { ALL_DEVICES_UPLINK } from '@flotilla/shared';
import type { Aedes, AuthenticateError } from 'aedes';
import { DeviceLinkService } from '../devices/device-link.service';
import { ConnectGuard } from '../limits/connect-guard';
import { MqttRefusals } from '../limits/mqtt-refusals';
import { CONNACK, connectDecision, grantedQos, publishDecision, qosDecision, subscribeDecision } from './access-policy';
import { AEDES, MqttServer } from './mqtt-server';
import { remoteAddressOf } from './sessions';
import { UplinkRouter } from './uplink-router';

/**
 * Wires aedes to the domain: who may connect, publish and subscribe, and where uplink
 * messages and presence go. The control plane uses no MQTT client of its own: it
 * subscribes and publishes inside the broker.
 */
@Injectable()
export class BrokerGateway implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
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
    private readonly guard: ConnectGuard,
    private readonly refusals: MqttRefusals,
  ) {}

  onModuleInit(): void {
    // Refusals are counted and logged as one summary line per interval (MqttRefusals), not one each.
    this.broker.authenticate = (client, username, password, done) => {
      const address = remoteAddressOf(client);
      const refuse = (code: string, returnCode: number, message: string, unknownId?: string): void => {
        if (code !== 'throttled') this.guard.failed(address, Date.now(), unknownId);
        this.refusals.login(code, address);
        done(authError(returnCode, message), false);
      };
      // Before any database query: an address that keeps failing, an id known not to exist.
      const precheck = this.guard.precheck(client.id, address, Date.now());
      if (precheck === 'throttled') return refuse('throttled', CONNACK.SERVER_UNAVAILABLE, 'too many failed logins; try later');
      if (precheck === 'unknown-id') return refuse('unknown-id-cached', CONNACK.BAD_USERNAME_OR_PASSWORD, 'bad username or password');
      const decision = connectDecision(client.id, username, password);
      if (!decision.accepted) return refuse(decision.code, decision.returnCode, decision.reason);
      this.link.checkCredentials(decision.deviceId, decision.password).then(
        (outcome) => {
          if (outcome === 'accepted') return done(null, true);
          const unknownId = outcome === 'unknown-device' ? decision.deviceId : undefined;
          refuse(
            outcome === 'unknown-device' ? 'unknown-id' : 'bad-password',
            CONNACK.BAD_USERNAME_OR_PASSWORD,
            'bad username or password',
            unknownId,
          );
        },
        // Not the client's failure, so not counted against its address; a reconnect storm during
        // a database outage still makes one log line per interval.
        (e: Error) => {
          this.refusals.login('server-unavailable', address, `cannot check credentials: ${e.message}`);
          done(authError(CONNACK.SERVER_UNAVAILABLE, 'server unavailable'), false);
        },
      );
    };
    // MQTT 3.1.1 has no negative PUBACK: refusing a publish disconnects the client.
    this.broker.authorizePublish = (client, packet, done) => {
      if (!client) return done(null);
      const qos = qosDecision(packet.qos);
      const decision = qos.allowed ? publishDecision(client.id, packet.topic, packet.retain, byteLength(packet.payload)) : qos;
      if (decision.allowed) return done(null);
      this.refusals.publish(decision.code, client.id);
      done(new Error(decision.reason));
    };
    // A null subscription answers SUBACK 0x80 (failure) and keeps the client connected.
    this.broker.authorizeSubscribe = (client, subscription, done) => {
      const decision = subscribeDecision(client.id, subscription.topic);
      if (decision.allowed) return done(null, { ...subscription, qos: grantedQos(subscription.qos) });
      this.refusals.subscribe(decision.code, client.id);
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
