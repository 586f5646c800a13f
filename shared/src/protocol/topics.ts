/**
 * MQTT topics of protocol v1 (docs/architecture.md, "The MQTT protocol, v1").
 * A device `{d}` publishes only under `flotilla/v1/d/{d}/` and subscribes only to its
 * own `desired` and `cmd`; the broker enforces that with `deviceMayPublish/Subscribe`.
 */
export const TOPIC_ROOT = 'flotilla/v1';

export const DEVICE_TO_CLOUD = ['desired/get', 'reported', 'telemetry', 'inventory', 'events', 'cmd/res', 'status'] as const;
export const CLOUD_TO_DEVICE = ['desired', 'cmd'] as const;
export type DeviceChannel = (typeof DEVICE_TO_CLOUD)[number];
export type CloudChannel = (typeof CLOUD_TO_DEVICE)[number];
export type Channel = DeviceChannel | CloudChannel;

const DEVICE_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function isValidDeviceId(id: string): boolean {
  return DEVICE_ID.test(id);
}

export function deviceTopic(deviceId: string, channel: Channel): string {
  if (!isValidDeviceId(deviceId)) throw new Error(`invalid device id "${deviceId}": expected 1-64 of [A-Za-z0-9_-]`);
  return `${TOPIC_ROOT}/d/${deviceId}/${channel}`;
}

/** Subscription the control plane uses to hear every device's uplink. */
export const ALL_DEVICES_UPLINK = `${TOPIC_ROOT}/d/+/#`;

export interface ParsedTopic {
  deviceId: string;
  channel: Channel;
}

const CHANNELS: readonly string[] = [...DEVICE_TO_CLOUD, ...CLOUD_TO_DEVICE];

export function parseDeviceTopic(topic: string): ParsedTopic | undefined {
  const prefix = `${TOPIC_ROOT}/d/`;
  if (!topic.startsWith(prefix)) return undefined;
  const rest = topic.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return undefined;
  const deviceId = rest.slice(0, slash);
  // The list's own string, not the topic's slice of it: a channel is a key of maps and records on
  // every message's path, and a constant's hash is computed once.
  const channel = CHANNELS[CHANNELS.indexOf(rest.slice(slash + 1))];
  if (!isValidDeviceId(deviceId) || channel === undefined) return undefined;
  return { deviceId, channel: channel as Channel };
}

export function deviceMayPublish(deviceId: string, topic: string): boolean {
  return devicePublishChannel(deviceId, topic) !== undefined;
}

/** The channel of `topic` when device `deviceId` may publish to it, else undefined: the check and the parse at once. */
export function devicePublishChannel(deviceId: string, topic: string): DeviceChannel | undefined {
  const parsed = parseDeviceTopic(topic);
  return parsed?.deviceId === deviceId && (DEVICE_TO_CLOUD as readonly string[]).includes(parsed.channel)
    ? (parsed.channel as DeviceChannel)
    : undefined;
}

export function deviceMaySubscribe(deviceId: string, topicFilter: string): boolean {
  return (CLOUD_TO_DEVICE as readonly string[]).some((c) => topicFilter === deviceTopic(deviceId, c as CloudChannel));
}

/**
 * Whether a message on `topic` may reach device `deviceId`: only its own `desired` and `cmd`, the
 * topics it may subscribe to, however the message came to be queued for it.
 */
export function deviceMayReceive(deviceId: string, topic: string): boolean {
  const parsed = parseDeviceTopic(topic);
  return parsed?.deviceId === deviceId && (CLOUD_TO_DEVICE as readonly string[]).includes(parsed.channel);
}
