import { connect as mqttConnect, type IClientOptions, type MqttClient } from 'mqtt';
import {
  DEVICE_RECONNECT_POLICY,
  PROTOCOL_SCHEMA,
  ReconnectSchedule,
  deviceTopic,
  isServerBusy,
  encodePayload,
  isSecureUrl,
  type ChannelPayload,
  type CommandResult,
  type DeviceChannel,
  type DeviceCredential,
  type ReconnectPolicy,
  MAX_PAYLOAD_BYTES,
} from '@flotilla/shared/device';
import { PinnedCaMissingError } from '../provisioning/errors';
import { errorMessage } from '../support/errors';
import { monotonicMs } from '../support/clock';
import type { Logger } from '../support/logger';
import { fitCommandResult } from './command-result';

export type MqttConnect = (url: string, options: IClientOptions) => MqttClient;

export interface MqttLinkOptions {
  credential: Pick<DeviceCredential, 'deviceId' | 'password' | 'mqttUrl' | 'caCertificates'>;
  /** The device's client certificate and key (mutual TLS); without one it authenticates with its password. */
  certificate?: { certPem: string; keyPem: string };
  logger: Logger;
  /** The desired rev the agent holds: sent with `desired/get`. */
  heldRev: () => number;
  /** A `desired` message as it arrived, not yet verified. */
  onDesired: (payload: Buffer) => void;
  /** A `cmd` message as it arrived, not yet verified; its answer (when there is one) goes out on `cmd/res`. */
  onCommand: (payload: Buffer) => Promise<CommandResult | undefined>;
  /** Called after every (re)connect, once status, subscriptions and `desired/get` are sent. */
  onConnect?: () => void;
  connect?: MqttConnect;
  /** Backoff of reconnects (shared/src/protocol/reconnect.ts); default DEVICE_RECONNECT_POLICY. */
  reconnect?: ReconnectPolicy;
  /** Wait before the very first connect (the boot spread, decided by the caller). Default 0. */
  firstConnectDelayMs?: number;
  /** Uniform in [0, 1): the jitter's source. Default Math.random. */
  random?: () => number;
}

/**
 * Every channel is QoS 1, telemetry too: a message the broker never acknowledged goes out again
 * after a reconnect, and the control plane stores each sample once (telemetry dedup).
 */
const QOS = 1;

/**
 * The device's MQTT session (docs/architecture.md, "The MQTT protocol, v1"). MQTT 3.1.1
 * because aedes speaks nothing newer. A fixed client id with a persistent session
 * (clean = false) lets the broker keep QoS 1 `desired` and `cmd` messages sent while the
 * device was away; the device still asks with `desired/get` after every connect, since
 * the control plane keeps no retained messages.
 */
export class MqttLink {
  private client: MqttClient | undefined;
  private readonly schedule: ReconnectSchedule;
  private connectTimer: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(private readonly options: MqttLinkOptions) {
    this.schedule = new ReconnectSchedule(options.reconnect ?? DEVICE_RECONNECT_POLICY, options.random ?? Math.random);
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  start(): void {
    const { deviceId, password, mqttUrl, caCertificates } = this.options.credential;
    if (isSecureUrl(mqttUrl) && !caCertificates) throw new PinnedCaMissingError(mqttUrl);
    const certificate = this.options.certificate;
    const client = (this.options.connect ?? mqttConnect)(mqttUrl, {
      protocolVersion: 4,
      clientId: deviceId,
      ...(password ? { username: deviceId, password } : {}),
      // The pinned CAs replace the system ones: only the control plane's own chain is trusted.
      ...(caCertificates ? { ca: caCertificates, rejectUnauthorized: true, minVersion: 'TLSv1.2' as const } : {}),
      ...(certificate ? { cert: certificate.certPem, key: certificate.keyPem } : {}),
      clean: false,
      // Subscriptions are made explicitly on every connect (below); letting mqtt.js replay them too would double them.
      resubscribe: false,
      keepalive: 30,
      // The link times every connect itself (connectIn, below) by the shared reconnect schedule:
      // mqtt.js knows only a fixed period, which brings a whole fleet back in the same second.
      manualConnect: true,
      reconnectPeriod: 0,
      connectTimeout: 30_000,
      // mqtt-packet otherwise pre-builds a 2-byte Buffer for each of the 65,536 packet ids on the
      // first write: about 7 MB of heap kept for good, to save an allocation per packet that an
      // agent sending a few packets a minute never notices (BENCHMARKS.md "agent").
      writeCache: false,
      // The broker publishes this when the connection drops without a DISCONNECT. Not retained: see docs/architecture.md, "The MQTT protocol, v1".
      will: {
        topic: deviceTopic(deviceId, 'status'),
        payload: Buffer.from(encodePayload('status', { schema: PROTOCOL_SCHEMA, status: 'offline' })),
        qos: 1,
        retain: false,
      },
    });
    this.client = client;
    client.on('connect', () => {
      this.schedule.connected(monotonicMs());
      void this.onConnect();
    });
    client.on('message', (topic, payload) => void this.onMessage(topic, payload));
    client.on('close', () => this.onClose());
    client.on('error', (err) => {
      const code = (err as { code?: unknown }).code;
      // A refused CONNECT (any return code) ends in 'close' like a failed socket; code 3 is the busy signal (server-busy.ts).
      if (typeof code === 'number' && isServerBusy(code)) this.schedule.serverBusy();
      this.options.logger.warn('mqtt error', { error: errorMessage(err), code });
    });
    this.connectIn(this.options.firstConnectDelayMs ?? 0);
  }

  private onClose(): void {
    if (this.stopping || this.connectTimer) return;
    const delayMs = this.schedule.closed(monotonicMs());
    this.options.logger.info('mqtt disconnected', { reconnectInMs: delayMs });
    this.connectIn(delayMs);
  }

  private connectIn(ms: number): void {
    this.connectTimer = setTimeout(() => {
      this.connectTimer = undefined;
      // connect() on the same client keeps its stores: QoS 1 messages queued while offline go out after the CONNACK.
      if (!this.stopping) this.client?.connect();
    }, ms);
  }

  /**
   * Presents this certificate from the next connect on; the live connection stays (a renewal
   * must not interrupt the device). mqtt.js builds every reconnect's TLS socket from the
   * client's options object, so that is where it goes.
   */
  useCertificate(certificate: { certPem: string; keyPem: string }): void {
    this.options.certificate = certificate;
    const client = this.client;
    if (client) Object.assign(client.options, { cert: certificate.certPem, key: certificate.keyPem });
  }

  /**
   * Fire and forget: while offline, QoS 1 messages wait in the client's queue and go out on
   * reconnect. `delivered`: the broker acknowledged it. `failed`: the client gave it up (the link
   * stopped, the connection closed while it waited behind the client's own resends, an invalid
   * payload) and will not send it again.
   */
  publish<C extends DeviceChannel>(channel: C, value: ChannelPayload<C>, delivered?: () => void, failed?: (err: Error) => void): void {
    const client = this.client;
    if (!client) return failed?.(new Error('the link is stopped'));
    let payload: string;
    try {
      payload = encodePayload(channel, value);
    } catch (err) {
      this.options.logger.error('refusing to publish an invalid payload', { channel, error: errorMessage(err) });
      return failed?.(err instanceof Error ? err : new Error(errorMessage(err)));
    }
    // The control plane closes the connection of a device that sends a larger payload, and mqtt.js
    // would send this QoS 1 message again first after every reconnect: the device would be cut off
    // until the agent restarts. Dropped here, the rest of the device's messages still go out.
    const bytes = Buffer.byteLength(payload);
    if (bytes > MAX_PAYLOAD_BYTES) {
      this.options.logger.error('refusing to publish a message larger than the control plane takes', {
        channel,
        bytes,
        max: MAX_PAYLOAD_BYTES,
      });
      return failed?.(new Error(`a ${channel} message of ${bytes} bytes is larger than the control plane takes (${MAX_PAYLOAD_BYTES})`));
    }
    client.publish(deviceTopic(this.options.credential.deviceId, channel), payload, { qos: QOS, retain: false }, (err) => {
      if (!err) return delivered?.();
      this.options.logger.warn('publish failed', { channel, error: errorMessage(err) });
      failed?.(err);
    });
  }

  /** Says goodbye (the broker sends no last will after a clean DISCONNECT) and closes the session. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    // Still waiting for its first connect: there is no stream to close.
    if (!(client as { stream?: unknown }).stream) return;
    if (!client.connected) {
      // mqtt.js ends gently only once every QoS 1 message it holds is acknowledged, which cannot
      // happen without a connection: it would wait for good. Those messages die with the process
      // either way; events among them are still in the outbox, and sent again after the restart.
      await client.endAsync(true);
      return;
    }
    await client
      .publishAsync(
        deviceTopic(this.options.credential.deviceId, 'status'),
        encodePayload('status', { schema: PROTOCOL_SCHEMA, status: 'offline' }),
        { qos: 1 },
      )
      .catch(() => undefined);
    await client.endAsync();
  }

  private async onConnect(): Promise<void> {
    const client = this.client;
    if (!client) return;
    const { deviceId } = this.options.credential;
    this.options.logger.info('mqtt connected', { deviceId });
    this.publish('status', { schema: PROTOCOL_SCHEMA, status: 'online' });
    try {
      await client.subscribeAsync({ [deviceTopic(deviceId, 'desired')]: { qos: 1 }, [deviceTopic(deviceId, 'cmd')]: { qos: 1 } });
    } catch (err) {
      this.options.logger.error('subscribe failed', { error: errorMessage(err) });
    }
    this.publish('desired/get', { schema: PROTOCOL_SCHEMA, rev: Math.max(0, this.options.heldRev()) });
    this.options.onConnect?.();
  }

  private async onMessage(topic: string, payload: Buffer): Promise<void> {
    const { deviceId } = this.options.credential;
    if (topic === deviceTopic(deviceId, 'desired')) this.onDesiredMessage(payload);
    else if (topic === deviceTopic(deviceId, 'cmd')) await this.onCommandMessage(payload);
    else this.options.logger.warn('message on an unexpected topic', { topic });
  }

  /** Handed on as bytes: whether a desired state is taken is the agent's desired gate's to judge (`DesiredGate`). */
  private onDesiredMessage(payload: Buffer): void {
    this.options.onDesired(payload);
  }

  /** Handed on as bytes, like `desired`: whether a command runs is the agent's command gate's to judge (`CommandGate`). */
  private async onCommandMessage(payload: Buffer): Promise<void> {
    let result: CommandResult | undefined;
    try {
      result = await this.options.onCommand(payload);
    } catch (err) {
      this.options.logger.error('command handling failed', { error: errorMessage(err) });
      return;
    }
    if (result) this.publish('cmd/res', fitCommandResult(result));
  }
}
