import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import {
  ALL_DEVICES_UPLINK,
  DEVICE_TO_CLOUD,
  deviceTopic,
  parseDeviceTopic,
  type CloudChannel,
  type DeviceChannel,
} from '@flotilla/shared';
import type { Aedes } from 'aedes';
import type { BrokerStatus, DeviceBroker, Presence, UplinkAdmission, UplinkListener, UplinkMessage } from './device-broker';
import { AEDES, MqttServer } from './mqtt-server';
import { clientOf, deliversDirectly, hasLiveSession, type DirectSession } from './sessions';

const UPLINK: readonly string[] = DEVICE_TO_CLOUD;
/** Delivery slots released at once per turn of the event loop; the pause it bounds is a few ms. */
export const RELEASES_PER_TURN = 1_000;

/**
 * The device broker inside this process (aedes): publishes and subscribes inside the broker, no
 * MQTT client, no loopback connection. One process holds every connection, so it knows presence.
 */
@Injectable()
export class AedesDeviceBroker implements DeviceBroker, OnModuleInit {
  private readonly logger = new Logger('Broker');
  private readonly uplink: UplinkListener[] = [];
  private readonly broadcast = new Map<DeviceChannel, ((message: UplinkMessage) => void)[]>();
  private readonly presence: ((deviceId: string, presence: Presence) => void)[] = [];
  readonly reportsPresence = true;
  private releasedThisTurn = 0;
  private admit: UplinkAdmission = () => true;

  private readonly deliver = (packet: { topic: string; payload: Buffer | string }, done: () => void): void => {
    // Released at once, but not synchronously: aedes lets 100 messages be delivered at a time
    // (its `concurrency`) and drains those waiting through this callback, one stack frame per
    // message, so a synchronous call overflowed the stack in a burst of thousands. A microtask
    // unwinds the stack as well; `setImmediate` held each slot a whole turn of the event loop, and
    // in a connect storm (two QoS 1 messages per device, 1,000 devices at a time) every device's
    // PUBACK queued behind those turns (issue 15). Microtasks run before any I/O, so a backlog of
    // tens of thousands would hold the sockets until drained: past a budget per turn, the rest
    // wait for the next one.
    if (this.releasedThisTurn === 0) setImmediate(() => (this.releasedThisTurn = 0));
    if (++this.releasedThisTurn <= RELEASES_PER_TURN) queueMicrotask(done);
    else setImmediate(done);
    const parsed = parseDeviceTopic(packet.topic);
    // The subscription also sees what the control plane itself publishes (desired, cmd).
    if (!parsed || !UPLINK.includes(parsed.channel)) return;
    const message: UplinkMessage = {
      deviceId: parsed.deviceId,
      channel: parsed.channel as DeviceChannel,
      payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
    };
    // One message in this process feeds both kinds of listener, so it passes the gate once; the
    // broadcast listeners (command results, parsed at once) see only what the limits let through.
    if (!this.admit(message, 'uplink')) return;
    for (const listener of this.broadcast.get(message.channel) ?? []) listener(message);
    for (const listener of this.uplink) {
      listener(message).catch((e: unknown) => this.logger.error(`device ${message.deviceId}: uplink listener failed: ${String(e)}`));
    }
  };

  constructor(
    @Inject(AEDES) private readonly broker: Aedes,
    private readonly server: MqttServer,
  ) {}

  onModuleInit(): void {
    this.broker.subscribe(ALL_DEVICES_UPLINK, this.deliver, () => undefined);
    this.broker.on('client', (client) => this.presence.forEach((listener) => listener(client.id, 'connected')));
    this.broker.on('clientDisconnect', (client) => this.presence.forEach((listener) => listener(client.id, 'disconnected')));
  }

  publishToDevice(deviceId: string, channel: CloudChannel, payload: string | Buffer): Promise<void> {
    const packet = {
      cmd: 'publish' as const,
      topic: deviceTopic(deviceId, channel),
      payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
      qos: 1 as const,
      // Never retained: a device asks for its desired state after connecting (docs/architecture.md).
      retain: false,
      dup: false,
    };
    const client = clientOf(this.broker, deviceId);
    return new Promise((resolve, reject) => {
      const done = (err?: Error | null): void => (err ? reject(err) : resolve());
      // The device's own client, when it is the only possible recipient: no topic matching against
      // every device's subscriptions, no emitter queue shared with the uplink (control-plane/bench/rollout.bench.ts).
      if (client && deliversDirectly(client as unknown as DirectSession, packet.topic)) client.publish(packet, done);
      else this.broker.publish(packet, done);
    });
  }

  onUplink(listener: UplinkListener): void {
    this.uplink.push(listener);
  }

  admitWith(admission: UplinkAdmission): void {
    this.admit = admission;
  }

  onBroadcast(channel: DeviceChannel, listener: (message: UplinkMessage) => void): void {
    this.broadcast.set(channel, [...(this.broadcast.get(channel) ?? []), listener]);
  }

  onPresence(listener: (deviceId: string, presence: Presence) => void): void {
    this.presence.push(listener);
  }

  /** Presence is reported as connections open and close (`onPresence`): nothing to list. */
  connectedDevices(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  hasLiveSession(deviceId: string): boolean {
    return hasLiveSession(this.broker, deviceId);
  }

  async disconnect(deviceId: string): Promise<boolean> {
    const client = clientOf(this.broker, deviceId);
    if (!client || client.closed) return false;
    client.close();
    return true;
  }

  status(): BrokerStatus {
    return { mode: 'embedded', up: this.server.listening };
  }
}
