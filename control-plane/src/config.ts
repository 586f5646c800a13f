import { join, resolve } from 'node:path';
import { API_URL, DEVICE_TO_CLOUD, MQTT_URL, type DeviceChannel } from '@flotilla/shared';
import { DEFAULT_DEVICE_LIMITS, type ChannelQuota, type DeviceLimits } from './limits/device-limits';
import { loadRabbitMqConfig } from './broker/rabbitmq/rabbitmq-config';
import { loadDatabasePool, type DatabasePoolSettings } from './database/database-pool';
import type { RabbitMqSettings } from './broker/rabbitmq/rabbitmq-settings';
import type { RolloutSettings } from './rollouts/rollout-settings';
import type { TlsSource } from './tls/tls-material';

/** Everything the control plane needs to start, read once from the environment. */
export const DEFAULT_EMBEDDED_PG_PORT = 5433;

export interface ControlPlaneConfig {
  /** Interface of the TLS listeners (HTTPS, MQTT over TLS); of the plain ones too when `plainHost` is not set. */
  host: string;
  /** Interface of the plain HTTP and MQTT listeners (`FLOTILLA_PLAIN_HOST`, 127.0.0.1 unless opened on purpose). */
  plainHost?: string;
  /** Plain HTTP port; 0 picks a free port (tests). */
  port: number;
  /** Plain MQTT (TCP) port; 0 picks a free port (tests). */
  mqttPort: number;
  /** HTTPS, MQTT over TLS and over secure WebSocket; absent: plain listeners only (tests of other things). */
  tls?: TlsConfig;
  /** Absolute path of the state directory (operator key, embedded PostgreSQL). */
  dataDir: string;
  /** External PostgreSQL; when absent the control plane runs an embedded one under `dataDir`. */
  databaseUrl?: string;
  /** Each replica's pool of database connections (`FLOTILLA_DATABASE_POOL_MAX`, `_CONNECT_TIMEOUT_S`); defaults where absent. */
  databasePool?: Partial<DatabasePoolSettings>;
  /** Port of the embedded PostgreSQL (127.0.0.1 only); default 5433. */
  embeddedPgPort?: number;
  /** Operator API key; when absent one is generated once and kept in `<dataDir>/operator-key`. */
  apiKey?: string;
  /** The MQTT URL handed to devices at registration, when they must use another address than the request's host. */
  publicMqttUrl?: string;
  /** The API URL written into provisioning files (`FLOTILLA_PUBLIC_API_URL`), when devices must use another address than the request's host. */
  publicApiUrl?: string;
  /** Where `components/<name>/component.yaml` are seeded into the library from at start; no seeding when absent. */
  componentsDir?: string;
  /** Signing-key rotations a device may miss and still follow (`FLOTILLA_SIGNING_KEY_HORIZON`, 1-255, default 32). */
  signingKeyHorizon?: number;
  /** Per-device quotas and per-address connection limits (README, "Limits"); defaults where absent. */
  limits?: Partial<DeviceLimits>;
  /** The rollout lease (`FLOTILLA_ROLLOUT_LEASE_S`) and the engine's tick derived from it; defaults where absent. */
  rollouts?: Partial<RolloutSettings>;
  /** Devices on an external RabbitMQ cluster instead of the embedded broker (`FLOTILLA_BROKER=rabbitmq`). */
  rabbitmq?: RabbitMqSettings;
}

export interface TlsConfig {
  source: TlsSource;
  /** HTTPS (API, dashboard, MQTT over WebSocket at /mqtt); 0 picks a free port. */
  httpsPort: number;
  /** MQTT over TLS; 0 picks a free port. */
  mqttsPort: number;
}

/** The repository's own components (origin's parts), next to this package. */
export const REPO_COMPONENTS_DIR = join(__dirname, '..', '..', 'components');

export type Env = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Env = process.env): ControlPlaneConfig {
  const config: ControlPlaneConfig = {
    host: nonEmpty(env.HOST) ?? '0.0.0.0',
    plainHost: nonEmpty(env.FLOTILLA_PLAIN_HOST) ?? '127.0.0.1',
    port: port(env, 'PORT', 3000),
    mqttPort: port(env, 'MQTT_PORT', 1883),
    dataDir: resolve(nonEmpty(env.FLOTILLA_DATA_DIR) ?? './data'),
    embeddedPgPort: port(env, 'EMBEDDED_PG_PORT', DEFAULT_EMBEDDED_PG_PORT),
    componentsDir: resolve(nonEmpty(env.FLOTILLA_COMPONENTS_DIR) ?? REPO_COMPONENTS_DIR),
    limits: loadDeviceLimits(env),
    databasePool: loadDatabasePool(env),
  };
  const databaseUrl = nonEmpty(env.DATABASE_URL);
  if (databaseUrl) config.databaseUrl = databaseUrl;
  const apiKey = nonEmpty(env.FLOTILLA_API_KEY);
  if (apiKey) {
    // A short operator key is guessable over the network; refuse it rather than run exposed.
    if (apiKey.length < 16) throw new Error('FLOTILLA_API_KEY must be at least 16 characters');
    config.apiKey = apiKey;
  }
  const publicMqttUrl = nonEmpty(env.FLOTILLA_PUBLIC_MQTT_URL);
  if (publicMqttUrl) {
    if (!/^mqtts?:\/\/[^/]+$/.test(publicMqttUrl) || !MQTT_URL.test(publicMqttUrl)) {
      throw new Error(`FLOTILLA_PUBLIC_MQTT_URL must look like mqtt://host:port (no user info), got "${publicMqttUrl}"`);
    }
    config.publicMqttUrl = publicMqttUrl;
  }
  const publicApiUrl = nonEmpty(env.FLOTILLA_PUBLIC_API_URL);
  if (publicApiUrl) {
    if (!/^https?:\/\/[^/]+\/?$/.test(publicApiUrl) || !API_URL.test(publicApiUrl)) {
      throw new Error(`FLOTILLA_PUBLIC_API_URL must look like http(s)://host:port (no user info), got "${publicApiUrl}"`);
    }
    config.publicApiUrl = publicApiUrl.replace(/\/$/, '');
  }
  const horizon = nonEmpty(env.FLOTILLA_SIGNING_KEY_HORIZON);
  if (horizon !== undefined) {
    // Each key within the horizon adds one endorsement (~330 bytes) to every desired message.
    if (!/^\d+$/.test(horizon) || Number(horizon) < 1 || Number(horizon) > 255) {
      throw new Error(`FLOTILLA_SIGNING_KEY_HORIZON must be a number of rotations from 1 to 255, got "${horizon}"`);
    }
    config.signingKeyHorizon = Number(horizon);
  }
  const lease = nonEmpty(env.FLOTILLA_ROLLOUT_LEASE_S);
  if (lease !== undefined) config.rollouts = rolloutLease(lease);
  config.tls = tlsConfig(env, config);
  const rabbitmq = loadRabbitMqConfig(env, config.publicMqttUrl);
  if (rabbitmq) config.rabbitmq = rabbitmq;
  return config;
}

/**
 * `FLOTILLA_ROLLOUT_LEASE_S` (default 10): how long another replica waits before taking over the
 * rollouts of one that died. The holder renews its leases every pass, so it passes four times
 * per lease (at most every 2 s, as with one replica).
 */
function rolloutLease(raw: string): Partial<RolloutSettings> {
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 3600) {
    throw new Error(`FLOTILLA_ROLLOUT_LEASE_S must be a number of seconds from 1 to 3600, got "${raw}"`);
  }
  const leaseMs = Number(raw) * 1000;
  return { leaseMs, tickMs: Math.min(2000, leaseMs / 4) };
}

/** Every limit has a default; a variable that is set must be a whole number (0 turns a cap off where the README says so). */
export function loadDeviceLimits(env: Env): DeviceLimits {
  const d = DEFAULT_DEVICE_LIMITS;
  const seconds = (name: string, fallbackMs: number): number => wholeNumber(env, name, fallbackMs / 1000) * 1000;
  return {
    quotas: quotas(env, d.quotas),
    clockSkewPastMs: seconds('FLOTILLA_CLOCK_SKEW_PAST_S', d.clockSkewPastMs),
    clockSkewFutureMs: seconds('FLOTILLA_CLOCK_SKEW_FUTURE_S', d.clockSkewFutureMs),
    eventsPerDevice: wholeNumber(env, 'FLOTILLA_EVENTS_PER_DEVICE', d.eventsPerDevice),
    eventRetentionDays: wholeNumber(env, 'FLOTILLA_EVENT_RETENTION_DAYS', d.eventRetentionDays),
    eventsWaitingPerDevice: wholeNumber(env, 'FLOTILLA_EVENTS_WAITING_PER_DEVICE', d.eventsWaitingPerDevice),
    eventsWaitingTotal: wholeNumber(env, 'FLOTILLA_EVENTS_WAITING_TOTAL', d.eventsWaitingTotal),
    maxQueuedPerDevice: wholeNumber(env, 'FLOTILLA_MQTT_MAX_QUEUED_PER_DEVICE', d.maxQueuedPerDevice),
    maxConnectionsPerAddress: wholeNumber(env, 'FLOTILLA_MQTT_MAX_CONNECTIONS_PER_ADDRESS', d.maxConnectionsPerAddress),
    failedConnectsPerSecond: wholeNumber(env, 'FLOTILLA_MQTT_FAILED_CONNECTS_PER_S', d.failedConnectsPerSecond),
    failedConnectsBurst: wholeNumber(env, 'FLOTILLA_MQTT_FAILED_CONNECTS_BURST', d.failedConnectsBurst),
    unknownIdCacheMs: seconds('FLOTILLA_MQTT_UNKNOWN_ID_CACHE_S', d.unknownIdCacheMs),
    busyConnectsInFlight: wholeNumber(env, 'FLOTILLA_MQTT_BUSY_CONNECTS_IN_FLIGHT', d.busyConnectsInFlight),
    busyQueuedWrites: wholeNumber(env, 'FLOTILLA_MQTT_BUSY_QUEUED_WRITES', d.busyQueuedWrites),
    busyWriteLagMs: seconds('FLOTILLA_MQTT_BUSY_WRITE_LAG_S', d.busyWriteLagMs),
    reportIntervalMs: seconds('FLOTILLA_LIMITS_REPORT_INTERVAL_S', d.reportIntervalMs),
  };
}

/** `FLOTILLA_UPLINK_QUOTAS=events=600:2097152,telemetry=120:4194304`: messages and bytes per minute, for the channels named. */
function quotas(env: Env, defaults: Record<DeviceChannel, ChannelQuota>): Record<DeviceChannel, ChannelQuota> {
  const raw = nonEmpty(env.FLOTILLA_UPLINK_QUOTAS);
  const result = { ...defaults };
  if (raw === undefined) return result;
  for (const entry of raw.split(',')) {
    const match = /^\s*([a-z/]+)=(\d+):(\d+)\s*$/.exec(entry);
    const channel = match?.[1] as DeviceChannel | undefined;
    if (!match || !channel || !DEVICE_TO_CLOUD.includes(channel)) {
      throw new Error(
        `FLOTILLA_UPLINK_QUOTAS: "${entry}" must look like CHANNEL=MESSAGES:BYTES (per minute), CHANNEL one of ${DEVICE_TO_CLOUD.join(', ')}`,
      );
    }
    result[channel] = { messagesPerMinute: Number(match[2]), bytesPerMinute: Number(match[3]) };
  }
  return result;
}

function wholeNumber(env: Env, name: string, fallback: number): number {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a whole number, got "${raw}"`);
  return Number(raw);
}

/**
 * TLS is on by default with a generated CA; `FLOTILLA_TLS_CERT` and `_KEY` bring the operator's
 * certificate; `FLOTILLA_TLS=terminated` says a proxy in front terminates TLS, which then needs
 * the public URLs (https, mqtts) and the proxy's CA in `FLOTILLA_TLS_CHAIN` for devices to pin.
 */
function tlsConfig(env: Env, config: ControlPlaneConfig): TlsConfig {
  const ports = { httpsPort: port(env, 'HTTPS_PORT', 8443), mqttsPort: port(env, 'MQTTS_PORT', 8883) };
  const mode = nonEmpty(env.FLOTILLA_TLS) ?? 'on';
  const chainPath = nonEmpty(env.FLOTILLA_TLS_CHAIN);
  if (mode === 'terminated') {
    if (!chainPath)
      throw new Error('FLOTILLA_TLS=terminated needs FLOTILLA_TLS_CHAIN: the CA certificate(s) of the proxy, which devices pin');
    if (!config.publicApiUrl?.startsWith('https://') || !/^(mqtts|wss):/.test(config.publicMqttUrl ?? '')) {
      throw new Error('FLOTILLA_TLS=terminated needs FLOTILLA_PUBLIC_API_URL=https://… and FLOTILLA_PUBLIC_MQTT_URL=mqtts://… (the proxy)');
    }
    return { source: { kind: 'terminated', chainPath: resolve(chainPath) }, ...ports };
  }
  if (mode !== 'on') throw new Error(`FLOTILLA_TLS must be "on" or "terminated", got "${mode}"`);
  const certPath = nonEmpty(env.FLOTILLA_TLS_CERT);
  const keyPath = nonEmpty(env.FLOTILLA_TLS_KEY);
  if (certPath || keyPath) {
    if (!certPath || !keyPath) throw new Error('FLOTILLA_TLS_CERT and FLOTILLA_TLS_KEY go together: set both or neither');
    const source: TlsSource = { kind: 'provided', certPath: resolve(certPath), keyPath: resolve(keyPath) };
    if (chainPath) source.chainPath = resolve(chainPath);
    return { source, ...ports };
  }
  const extraNames = (nonEmpty(env.FLOTILLA_TLS_SAN) ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  return { source: { kind: 'generated', extraNames }, ...ports };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function port(env: Env, name: string, fallback: number): number {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value > 65535) throw new Error(`${name} must be a port number 0-65535, got "${raw}"`);
  return value;
}
