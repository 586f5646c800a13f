import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import type { Aedes, Client } from 'aedes';
import { deviceMayReceive } from '@flotilla/shared';
import { RevocationList } from '../certificates/revocation-list';
import { DeviceLinkService, type CredentialCheck } from '../devices/device-link.service';
import { ConnectGuard } from '../limits/connect-guard';
import { DEVICE_LIMITS, type DeviceLimits } from '../limits/device-limits';
import { busyReason } from '../limits/server-load';
import { MqttRefusals } from '../limits/mqtt-refusals';
import { CONNACK, connectDecision, grantedQos, publishDecision, qosDecision, subscribeDecision } from './access-policy';
import { storeOnlyGranted, subscriptionStoreOf } from './granted-subscriptions';
import { AEDES, MqttServer } from './mqtt-server';
import { limitLogins, type LoginOutcome } from './login-limits';
import { certificateConnectDecision } from './peer-identity';
import { clientOf } from './sessions';
import { UplinkRouter } from './uplink-router';

/**
 * Wires the embedded aedes broker to the domain: who may connect, publish and subscribe. Uplink
 * and presence reach the domain through the device broker port (AedesDeviceBroker).
 */
@Injectable()
export class BrokerGateway implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Broker');

  constructor(
    @Inject(AEDES) private readonly broker: Aedes,
    private readonly server: MqttServer,
    private readonly link: DeviceLinkService,
    private readonly uplink: UplinkRouter,
    private readonly guard: ConnectGuard,
    private readonly refusals: MqttRefusals,
    private readonly revocations: RevocationList,
    @Inject(DEVICE_LIMITS) private readonly limits: DeviceLimits,
  ) {}

  onModuleInit(): void {
    this.broker.authenticate = limitLogins(
      this.guard,
      this.refusals,
      (client, username, password) => this.checkLogin(client, username, password),
      (connectsInFlight) =>
        busyReason({ connectsInFlight, queuedWrites: this.link.queuedWrites, writeLagMs: this.link.writeLagMs }, this.limits),
      this.server.loginWaitMs,
    );
    // MQTT 3.1.1 has no negative PUBACK: refusing a publish disconnects the client.
    this.broker.authorizePublish = (client, packet, done) => {
      if (!client) return done(null);
      const qos = qosDecision(packet.qos);
      const decision = qos.allowed ? publishDecision(client.id, packet.topic, packet.retain, byteLength(packet.payload)) : qos;
      if (!decision.allowed) {
        this.refusals.publish(decision.code, client.id);
        return done(new Error(decision.reason));
      }
      // Half as many of the device's events wait for the database as may: this one is not acknowledged,
      // so the device keeps it and sends it again after its reconnect, instead of it waiting here
      // without bound or being dropped (docs/architecture.md, "The MQTT protocol, v1").
      const full = decision.channel === 'events' ? this.uplink.events.gateFull(client.id) : undefined;
      if (!full) return done(null);
      this.refusals.publish(`events-waiting-${full}`, client.id);
      done(
        new Error(
          `too many events wait for the database (${full === 'device' ? 'of this device' : 'of all devices'}); send it again later`,
        ),
      );
    };
    // A null subscription answers SUBACK 0x80 (failure) and keeps the client connected.
    this.broker.authorizeSubscribe = (client, subscription, done) => {
      const decision = subscribeDecision(client.id, subscription.topic);
      if (decision.allowed) {
        // In place: aedes 1.2 stores the packet's own subscription objects (and builds SUBACK from
        // the requested QoS before this hook, so SUBACK still shows 2; nothing is sent above 1).
        subscription.qos = grantedQos(subscription.qos);
        return done(null, subscription);
      }
      this.refusals.subscribe(decision.code, client.id);
      done(null, null);
    };
    storeOnlyGranted(subscriptionStoreOf(this.broker), (deviceId, topicFilter) => subscribeDecision(deviceId, topicFilter).allowed);
    // The last word on every message written to a device, live or from its session's stored queue:
    // nothing but its own desired and cmd, whatever subscription or queue brought it there.
    this.broker.authorizeForward = (client, packet) => (deviceMayReceive(client.id, packet.topic) ? packet : null);
    this.link.onRevoked((deviceId) => this.endSession(deviceId));
  }

  /**
   * A device decommissioned through another replica (or deleted in the database) may hold a
   * session here, let in before: only the replica that decommissions closes its own, and a refused
   * reconnect does not end a connection that is up, so the device went on reporting and taking
   * commands here.
   */
  private endSession(deviceId: string): void {
    const client = clientOf(this.broker, deviceId);
    if (!client || client.closed) return;
    this.logger.warn(`device ${deviceId}: decommissioned elsewhere; its connection here is closed`);
    client.close();
  }

  /**
   * Device login: a client certificate (mutual TLS), which decides alone and from memory (no
   * database round trip); otherwise username = client id = device id and its password
   * (access-policy.ts), checked from memory too (DeviceDirectory). No pool is waited on: a
   * database error can only come from a device not in memory, and is answered at once.
   */
  private async checkLogin(client: Client, username: string | undefined, password: Uint8Array | undefined): Promise<LoginOutcome> {
    const certificate = this.server.peerOf(client.conn)?.certificate;
    if (certificate) {
      const verdict = certificateConnectDecision(client.id, certificate, (serial) => this.revocations.has(serial));
      return verdict.accepted
        ? { accepted: true }
        : { accepted: false, code: verdict.code, returnCode: verdict.returnCode, message: verdict.reason };
    }
    const decision = connectDecision(client.id, username, password);
    if (!decision.accepted) return { accepted: false, code: decision.code, returnCode: decision.returnCode, message: decision.reason };
    let outcome: CredentialCheck;
    try {
      outcome = await this.link.checkCredentials(decision.deviceId, decision.password);
    } catch (e) {
      return { accepted: false, unavailable: `cannot check credentials: ${(e as Error).message}` };
    }
    if (outcome === 'accepted') return { accepted: true };
    const refused = { accepted: false as const, returnCode: CONNACK.BAD_USERNAME_OR_PASSWORD, message: 'bad username or password' };
    return outcome === 'unknown-device'
      ? { ...refused, code: 'unknown-id', unknownId: decision.deviceId }
      : { ...refused, code: 'bad-password' };
  }

  async onApplicationBootstrap(): Promise<void> {
    // Nothing is connected to a broker that is only starting, whatever the last run left in the table.
    await this.link.brokerStarted();
    await this.server.listen();
  }

  /** Before the database closes: disconnect devices, then let their last writes finish. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.server.close();
    await this.uplink.drain();
  }
}

function byteLength(payload: Buffer | string): number {
  return typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
}
