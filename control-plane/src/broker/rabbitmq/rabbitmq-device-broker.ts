import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DEVICE_TO_CLOUD, TOPIC_ROOT, deviceTopic, parseDeviceTopic, type CloudChannel, type DeviceChannel } from '@flotilla/shared';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { BrokerStatus, DeviceBroker, Presence, UplinkAdmission, UplinkListener, UplinkMessage } from '../device-broker';
import { AmqpConnection } from './amqp-connection';
import { MQTT_EXCHANGE, UPLINK_ROUTING_KEYS, routingKeyOfTopic, topicOfRoutingKey } from './device-auth';
import { RABBITMQ_SETTINGS, UPLINK_QUEUE, type RabbitMqSettings } from './rabbitmq-settings';
import { RabbitMqManagement, type ClusterNode, type ClusterReading } from './rabbitmq-management';

const UPLINK: readonly string[] = DEVICE_TO_CLOUD;
/** How often the cluster's nodes are asked for, for readiness and /metrics. */
const NODES_EVERY_MS = 5_000;

/**
 * Devices on an external RabbitMQ cluster (its MQTT plugin), the control plane on AMQP. Uplink: one
 * quorum queue bound to every device's uplink topics, consumed by every replica (competing consumers),
 * each message acknowledged after its handling settled, at most `prefetch` unacknowledged per replica;
 * a replica that dies leaves its unacknowledged messages to the others. Downlink: published to the
 * MQTT exchange with publisher confirms; RabbitMQ routes it to the device's session queue, whichever
 * node holds it. Command results also reach every replica through a queue of each replica's own.
 */
@Injectable()
export class RabbitMqDeviceBroker implements DeviceBroker, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('RabbitMQ');
  private readonly uplink: UplinkListener[] = [];
  private readonly broadcast = new Map<DeviceChannel, ((message: UplinkMessage) => void)[]>();
  private readonly connection: AmqpConnection;
  private readonly management: RabbitMqManagement;
  private publisher: ConfirmChannel | undefined;
  private consumer: Channel | undefined;
  private consumerTag = '';
  private nodes: ClusterNode[] | undefined;
  /** RabbitMQ's own member list, as last read (undefined when unknown). */
  private members: ClusterNode[] | undefined;
  private nodesTimer: NodeJS.Timeout | undefined;
  private watching = true;
  private policySet = false;
  private policyFailed = false;
  /** What was last logged about the cluster, so that a change is logged once, not every 5 s. */
  private told = '';
  private inFlight = new Set<Promise<void>>();
  readonly reportsPresence = false;
  private admit: UplinkAdmission = () => true;

  constructor(@Inject(RABBITMQ_SETTINGS) private readonly settings: RabbitMqSettings) {
    this.connection = new AmqpConnection(settings.amqpUrls, (model) => this.setUp(model));
    this.management = new RabbitMqManagement(settings.managementUrls, settings.vhost);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.management.configured) await this.watchCluster();
    await this.connection.start();
  }

  /**
   * Stops taking uplink, lets what was taken finish and be acknowledged (so that no other replica
   * handles it again), then closes. Device connections stay on the broker: a rolling restart keeps them.
   * The consumer's channel is closed on its own first: its close-ok comes after RabbitMQ has taken
   * every acknowledgement sent before it on that channel, whereas amqplib may write the connection's
   * close ahead of acknowledgements still queued on the channel, and RabbitMQ would then hand those
   * messages, already handled, to another replica.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.watching = false;
    clearTimeout(this.nodesTimer);
    const consumer = this.consumer;
    this.consumer = undefined;
    await this.connection.stop(async () => {
      await consumer?.cancel(this.consumerTag).catch(() => undefined);
      await Promise.all(this.inFlight);
      await consumer?.close().catch(() => undefined);
    });
  }

  async publishToDevice(deviceId: string, channel: CloudChannel, payload: string | Buffer): Promise<void> {
    const publisher = this.publisher;
    if (!publisher) throw new Error('not connected to RabbitMQ; the device gets its state on its next report or desired/get');
    const key = routingKeyOfTopic(deviceTopic(deviceId, channel));
    const content = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
    await new Promise<void>((resolve, reject) =>
      publisher.publish(MQTT_EXCHANGE, key, content, {}, (err: unknown) =>
        err ? reject(new Error(`RabbitMQ refused the publish: ${String(err)}`)) : resolve(),
      ),
    );
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

  /** RabbitMQ does not tell connects and disconnects: presence comes from the devices' `status` messages. */
  onPresence(_listener: (deviceId: string, presence: Presence) => void): void {}

  hasLiveSession(_deviceId: string): boolean {
    return false;
  }

  /**
   * From the management API's connection list, which leaves out a dead node's connections (they
   * died with it) and lists a new one only after the node's next statistics emission (5 s).
   */
  async connectedDevices(): Promise<ReadonlySet<string> | undefined> {
    if (!this.management.configured) return undefined;
    return new Set(await this.management.connectedUsers());
  }

  async disconnect(deviceId: string): Promise<boolean> {
    if (!this.management.configured) return false;
    return (await this.management.closeConnectionsOf(deviceId)) > 0;
  }

  status(): BrokerStatus {
    return {
      mode: 'rabbitmq',
      // A quorum queue (the uplink) works while a majority of the nodes runs, as RabbitMQ counts
      // them: a node whose management API is slow to answer (a loaded machine) is no reason to stop
      // serving; one that hangs is counted out by RabbitMQ within net_ticktime.
      up: this.connection.up && this.consumer !== undefined && (!this.members || hasMajority(this.members)),
      ...(this.nodes ? { nodes: this.nodes } : {}),
      reconnects: this.connection.reconnects,
    };
  }

  private async setUp(model: ChannelModel): Promise<void> {
    const publisher = await model.createConfirmChannel();
    const consumer = await model.createChannel();
    // A channel the broker closes (a queue's leader lost mid-operation) ends the connection, so that all is set up again.
    for (const channel of [publisher, consumer]) channel.once('close', () => void model.close().catch(() => undefined));
    await consumer.prefetch(this.settings.prefetch);
    await consumer.assertQueue(UPLINK_QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    for (const key of UPLINK_ROUTING_KEYS) await consumer.bindQueue(UPLINK_QUEUE, MQTT_EXCHANGE, key);
    if (this.broadcast.size > 0) {
      const own = await consumer.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
      for (const channel of this.broadcast.keys()) {
        await consumer.bindQueue(own.queue, MQTT_EXCHANGE, routingKeyOfTopic(`${TOPIC_ROOT}/d/+/${channel}`));
      }
      await consumer.consume(own.queue, (msg) => msg && this.broadcastMessage(msg), { noAck: true });
    }
    const { consumerTag } = await consumer.consume(UPLINK_QUEUE, (msg) => msg && this.track(this.handle(consumer, msg)), {
      noAck: false,
    });
    this.consumerTag = consumerTag;
    model.once('close', () => {
      if (this.publisher === publisher) this.publisher = undefined;
      if (this.consumer === consumer) this.consumer = undefined;
    });
    this.publisher = publisher;
    this.consumer = consumer;
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  /**
   * Acknowledged after every listener settled: a replica that dies before leaves the message to
   * another one. A message the gate refuses (over its device's rate or quota) is acknowledged unhandled.
   */
  private async handle(consumer: Channel, msg: ConsumeMessage): Promise<void> {
    const message = messageOf(msg);
    if (message && this.admit(message, 'uplink')) {
      const results = await Promise.allSettled(this.uplink.map((listener) => listener(message)));
      for (const r of results)
        if (r.status === 'rejected') this.logger.error(`device ${message.deviceId}: uplink listener failed: ${String(r.reason)}`);
    }
    try {
      consumer.ack(msg);
    } catch {
      // The channel closed meanwhile; RabbitMQ redelivers the message to a consumer still there.
    }
  }

  /** Every replica's own copy of a broadcast channel's message, held to the gate's limits like the uplink before anything parses it. */
  private broadcastMessage(msg: ConsumeMessage): void {
    const message = messageOf(msg);
    if (!message || !this.admit(message, 'broadcast')) return;
    for (const listener of this.broadcast.get(message.channel) ?? []) listener(message);
  }

  /**
   * The cluster's nodes every NODES_EVERY_MS after the previous read ended (one read can take up to
   * the management client's cluster timeout while a node does not answer; reads never pile up).
   * The session policy is set on the first read that can: a replica starting while a node hangs
   * still starts, its devices' clean sessions unmirrored until then (logged).
   */
  private async watchCluster(): Promise<void> {
    await this.refreshNodes();
    if (!this.policySet) {
      await this.management.ensureSessionPolicy().then(
        () => {
          if (this.policyFailed) this.logger.log('the session policy (flotilla-mqtt-sessions) is set');
          this.policySet = true;
        },
        (e: Error) => {
          if (!this.policyFailed)
            this.logger.warn(
              `the session policy (flotilla-mqtt-sessions) is not set yet, tried again every ${NODES_EVERY_MS / 1000} s: ${e.message}`,
            );
          this.policyFailed = true;
        },
      );
    }
    if (!this.watching) return;
    this.nodesTimer = setTimeout(() => void this.watchCluster(), NODES_EVERY_MS);
    this.nodesTimer.unref();
  }

  private async refreshNodes(): Promise<void> {
    let told: string;
    try {
      const reading = await this.management.nodes();
      this.nodes = reading.nodes;
      this.members = reading.members;
      told = describeCluster(reading);
    } catch (e) {
      this.nodes = this.members = undefined;
      told = `cannot read the cluster's nodes: ${(e as Error).message}`;
    }
    if (told === this.told) return;
    if (told) this.logger.warn(told);
    else if (this.told) this.logger.log('every RabbitMQ node is running and answers');
    this.told = told;
  }
}

/** What is wrong with the cluster, in a line (empty when nothing is): which nodes are down, and how that is known. */
function describeCluster({ nodes, members, membersUnknown }: ClusterReading): string {
  const down = nodes.filter((n) => !n.running).map((n) => (n.unanswered ? `${n.name} (its management API: ${n.unanswered})` : n.name));
  const majority = members ? (hasMajority(members) ? '; a majority runs' : '; no majority runs') : '';
  const parts = [
    ...(down.length > 0 ? [`RabbitMQ nodes down: ${down.join(', ')}${majority}`] : []),
    ...(membersUnknown ? [`RabbitMQ's member list is unknown (nodes taken from their own answers): ${membersUnknown}`] : []),
  ];
  return parts.join('; ');
}

function hasMajority(nodes: ClusterNode[]): boolean {
  return nodes.filter((n) => n.running).length * 2 > nodes.length;
}

/** The uplink message a delivery carries; undefined for anything that is not a device's uplink topic. */
function messageOf(msg: ConsumeMessage): UplinkMessage | undefined {
  const parsed = parseDeviceTopic(topicOfRoutingKey(msg.fields.routingKey));
  if (!parsed || !UPLINK.includes(parsed.channel)) return undefined;
  return { deviceId: parsed.deviceId, channel: parsed.channel as DeviceChannel, payload: msg.content };
}
