import type { DeviceChannel } from '@flotilla/shared';

/** What one device may send on one channel in a minute; a full minute's worth may come at once. */
export interface ChannelQuota {
  messagesPerMinute: number;
  bytesPerMinute: number;
}

/**
 * Bounds on what one device (or one source address) can make the control plane do. Each is
 * read from the environment by `loadConfig` (control-plane/README.md lists the variables).
 */
export interface DeviceLimits {
  quotas: Record<DeviceChannel, ChannelQuota>;
  /** Device timestamps further than this in the past or future of the server's clock are out of window. */
  clockSkewPastMs: number;
  clockSkewFutureMs: number;
  /** Events kept per device (the newest), and the age beyond which events are deleted. */
  eventsPerDevice: number;
  eventRetentionDays: number;
  /**
   * Device events taken (acknowledged to the device) and not yet stored, per device and in all: they
   * wait in memory while the database is away. At half either bound the embedded broker refuses the
   * device's next event (no PUBACK: the device keeps it and sends it again after reconnecting); past
   * a bound an event is dropped and counted; 0 = no bound (event-backlog.ts).
   */
  eventsWaitingPerDevice: number;
  eventsWaitingTotal: number;
  /** QoS 1 messages the broker keeps for one device (offline, or not acknowledging); 0 = no cap. */
  maxQueuedPerDevice: number;
  /** Open MQTT connections from one source address; 0 = no cap. */
  maxConnectionsPerAddress: number;
  /** Failed MQTT logins one source address may make per second, and in one burst. */
  failedConnectsPerSecond: number;
  failedConnectsBurst: number;
  /** How long an unknown device id is answered from memory instead of the database. */
  unknownIdCacheMs: number;
  /**
   * The control plane answers connects "server busy" (CONNACK 3, SERVER_BUSY) while this many
   * logins wait for their credential check, or this many device writes are queued, or the oldest
   * of them has waited this long (ms); 0 = never (server-load.ts).
   */
  busyConnectsInFlight: number;
  busyQueuedWrites: number;
  busyWriteLagMs: number;
  /** Refusals are logged as one summary line, and each device's dropped messages recorded as one event of its own, per this interval. */
  reportIntervalMs: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Sized from what the agent sends, with room: telemetry every few seconds, events in bursts of
 * up to its outbox (500) after an offline period, `desired/get` once per connect, command
 * results up to a log excerpt of a whole payload (256 KiB).
 */
export const DEFAULT_QUOTAS: Record<DeviceChannel, ChannelQuota> = {
  telemetry: { messagesPerMinute: 120, bytesPerMinute: 4 * MiB },
  reported: { messagesPerMinute: 60, bytesPerMinute: 4 * MiB },
  inventory: { messagesPerMinute: 10, bytesPerMinute: 1 * MiB },
  events: { messagesPerMinute: 600, bytesPerMinute: 2 * MiB },
  'cmd/res': { messagesPerMinute: 60, bytesPerMinute: 4 * MiB },
  'desired/get': { messagesPerMinute: 30, bytesPerMinute: 64 * KiB },
  status: { messagesPerMinute: 30, bytesPerMinute: 64 * KiB },
};

export const DEFAULT_DEVICE_LIMITS: DeviceLimits = {
  quotas: DEFAULT_QUOTAS,
  clockSkewPastMs: 7 * 24 * 3_600_000,
  clockSkewFutureMs: 5 * 60_000,
  eventsPerDevice: 10_000,
  eventRetentionDays: 90,
  // The gate, at half, is above a healthy burst: an agent sends up to its outbox (500) at once after
  // an offline spell. An event is at most ~2.5 KiB (a 2,000-character message): ~125 MiB at worst.
  eventsWaitingPerDevice: 2_000,
  eventsWaitingTotal: 50_000,
  // The device asks for its desired state after each connect, so the queue only saves a round trip.
  maxQueuedPerDevice: 20,
  // Many devices can share one address behind a NAT; the cap is against one host opening thousands.
  maxConnectionsPerAddress: 1000,
  failedConnectsPerSecond: 5,
  failedConnectsBurst: 20,
  unknownIdCacheMs: 30_000,
  // Credential checks are answered from memory, so logins pile up only behind lookups of devices
  // not in memory or a saturated process. Writes are coalesced: a 10,000-device storm queues
  // 20,000 (a presence and a report each) that a few statements write, so the backlog is judged
  // by its age; the count only bounds memory (a queued report is ~1 KiB: ~50 MiB).
  busyConnectsInFlight: 2000,
  busyQueuedWrites: 50_000,
  busyWriteLagMs: 10_000,
  reportIntervalMs: 60_000,
};

export const DEVICE_LIMITS = Symbol('DeviceLimits');
