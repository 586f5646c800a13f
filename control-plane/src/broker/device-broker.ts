import type { CloudChannel, DeviceChannel } from '@flotilla/shared';

/** One message a device sent; `deviceId` comes from the topic, which the broker's ACL ties to the sender. */
export interface UplinkMessage {
  deviceId: string;
  channel: DeviceChannel;
  payload: Buffer;
}

/** Handles one uplink message; settles once its effect is written (the external broker acknowledges then). */
export type UplinkListener = (message: UplinkMessage) => Promise<void>;

/**
 * Whether a message is handled at all (its device's rate and quotas), decided before any listener,
 * uplink or broadcast, sees it: a message refused here is never parsed. `copy`: the message itself
 * (`uplink`), or a copy that reaches this replica on the broadcast path only (external mode).
 */
export type UplinkAdmission = (message: UplinkMessage, copy: 'uplink' | 'broadcast') => boolean;

export type Presence = 'connected' | 'disconnected';

/** What readiness and /metrics say about the broker. */
export interface BrokerStatus {
  mode: 'embedded' | 'rabbitmq';
  /** Embedded: the listener is open. External: the AMQP connection and its consumer are up. */
  up: boolean;
  /** External mode: the broker cluster's nodes as the management API reports them (absent when unknown). */
  nodes?: { name: string; running: boolean }[];
  /** External mode: how many times the connection to the broker was re-established. */
  reconnects?: number;
}

/**
 * The one way every module reaches devices over MQTT (docs/architecture.md, "Packages and their walls").
 * Two implementations: the embedded aedes broker (`npm start`, one process) and an external
 * RabbitMQ cluster shared by several control-plane replicas (FLOTILLA_BROKER=rabbitmq).
 */
export interface DeviceBroker {
  /**
   * Sends `payload` (already encoded) on a cloud → device channel, QoS 1, never retained. Resolves
   * once the broker took it; the broker delivers to whichever node the device is connected to.
   * A device that misses it gets its state again on its next report or `desired/get` (level-triggered).
   */
  publishToDevice(deviceId: string, channel: CloudChannel, payload: string | Buffer): Promise<void>;
  /**
   * Listeners for device uplink. Each message reaches one replica only (competing consumers in
   * external mode), where every listener sees it; the message counts as handled once all settle.
   */
  onUplink(listener: UplinkListener): void;
  /** The gate every message passes before its listeners (one: the uplink router's limits); without one, every message passes. */
  admitWith(admission: UplinkAdmission): void;
  /** Listeners that see every admitted message of `channel` on every replica (command results answer the replica that asked). */
  onBroadcast(channel: DeviceChannel, listener: (message: UplinkMessage) => void): void;
  /**
   * Connections opening and closing, when the broker reports them (embedded mode). The external
   * broker does not: presence then comes from the devices' own `status` messages (online, and the last will).
   */
  onPresence(listener: (deviceId: string, presence: Presence) => void): void;
  /** Whether the broker itself tells presence (then `status` offline messages may be stale against a live session). */
  readonly reportsPresence: boolean;
  /** Whether this replica knows of a live session of `deviceId` (embedded mode); false when it cannot know. */
  hasLiveSession(deviceId: string): boolean;
  /**
   * The devices with a connection anywhere on the broker, for a broker that does not report
   * presence itself (external mode): the devices of a node that died sent no last will, and
   * only this list tells they are gone. Undefined when the broker cannot list them (embedded
   * mode reports presence as it happens; external mode without its management API).
   */
  connectedDevices(): Promise<ReadonlySet<string> | undefined>;
  /** Closes the device's connection wherever it is; true when one was closed. */
  disconnect(deviceId: string): Promise<boolean>;
  status(): BrokerStatus;
}

export const DEVICE_BROKER = Symbol('DeviceBroker');
