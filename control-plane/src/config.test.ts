import { resolve } from 'node:path';
import { REPO_COMPONENTS_DIR, loadConfig } from './config';
import { DEFAULT_DATABASE_POOL } from './database/database-pool';
import { DEFAULT_DEVICE_LIMITS, DEFAULT_QUOTAS } from './limits/device-limits';

describe('loadConfig', () => {
  it('defaults to TLS on all interfaces (8443/8883, generated CA), plain 3000/1883 on loopback, ./data and an embedded database', () => {
    expect(loadConfig({})).toEqual({
      host: '0.0.0.0',
      plainHost: '127.0.0.1',
      tls: { source: { kind: 'generated', extraNames: [] }, httpsPort: 8443, mqttsPort: 8883 },
      port: 3000,
      mqttPort: 1883,
      dataDir: resolve('data'),
      embeddedPgPort: 5433,
      componentsDir: REPO_COMPONENTS_DIR,
      limits: DEFAULT_DEVICE_LIMITS,
      databasePool: DEFAULT_DATABASE_POOL,
    });
  });

  it('reads every setting from the environment', () => {
    const config = loadConfig({
      HOST: '127.0.0.1',
      PORT: '0',
      MQTT_PORT: '18830',
      FLOTILLA_DATA_DIR: '/var/lib/flotilla',
      DATABASE_URL: 'postgres://u@db/flotilla',
      EMBEDDED_PG_PORT: '6543',
      FLOTILLA_API_KEY: 'k'.repeat(32),
      FLOTILLA_PUBLIC_MQTT_URL: 'mqtts://fleet.example.com:8883',
      FLOTILLA_COMPONENTS_DIR: '/opt/components',
      FLOTILLA_PLAIN_HOST: '0.0.0.0',
      HTTPS_PORT: '443',
      MQTTS_PORT: '18883',
      FLOTILLA_TLS_SAN: 'fleet.example.com, 10.0.0.2',
      FLOTILLA_DATABASE_POOL_MAX: '25',
      FLOTILLA_DATABASE_CONNECT_TIMEOUT_S: '30',
    });
    expect(config).toEqual({
      host: '127.0.0.1',
      plainHost: '0.0.0.0',
      tls: { source: { kind: 'generated', extraNames: ['fleet.example.com', '10.0.0.2'] }, httpsPort: 443, mqttsPort: 18883 },
      port: 0,
      mqttPort: 18830,
      dataDir: '/var/lib/flotilla',
      databaseUrl: 'postgres://u@db/flotilla',
      embeddedPgPort: 6543,
      apiKey: 'k'.repeat(32),
      publicMqttUrl: 'mqtts://fleet.example.com:8883',
      componentsDir: '/opt/components',
      limits: DEFAULT_DEVICE_LIMITS,
      databasePool: { ...DEFAULT_DATABASE_POOL, max: 25, connectTimeoutMs: 30_000 },
    });
  });

  it('reads every device limit from the environment', () => {
    const { limits } = loadConfig({
      FLOTILLA_UPLINK_QUOTAS: 'events=10:2048, desired/get=5:512',
      FLOTILLA_CLOCK_SKEW_PAST_S: '3600',
      FLOTILLA_CLOCK_SKEW_FUTURE_S: '60',
      FLOTILLA_EVENTS_PER_DEVICE: '100',
      FLOTILLA_EVENT_RETENTION_DAYS: '7',
      FLOTILLA_EVENTS_WAITING_PER_DEVICE: '50',
      FLOTILLA_EVENTS_WAITING_TOTAL: '0',
      FLOTILLA_MQTT_MAX_QUEUED_PER_DEVICE: '5',
      FLOTILLA_MQTT_MAX_CONNECTIONS_PER_ADDRESS: '0',
      FLOTILLA_MQTT_FAILED_CONNECTS_PER_S: '2',
      FLOTILLA_MQTT_FAILED_CONNECTS_BURST: '4',
      FLOTILLA_MQTT_UNKNOWN_ID_CACHE_S: '10',
      FLOTILLA_MQTT_BUSY_CONNECTS_IN_FLIGHT: '50',
      FLOTILLA_MQTT_BUSY_QUEUED_WRITES: '0',
      FLOTILLA_MQTT_BUSY_WRITE_LAG_S: '3',
      FLOTILLA_LIMITS_REPORT_INTERVAL_S: '30',
    });
    expect(limits).toEqual({
      quotas: {
        ...DEFAULT_QUOTAS,
        events: { messagesPerMinute: 10, bytesPerMinute: 2048 },
        'desired/get': { messagesPerMinute: 5, bytesPerMinute: 512 },
      },
      clockSkewPastMs: 3_600_000,
      clockSkewFutureMs: 60_000,
      eventsPerDevice: 100,
      eventRetentionDays: 7,
      eventsWaitingPerDevice: 50,
      eventsWaitingTotal: 0,
      maxQueuedPerDevice: 5,
      maxConnectionsPerAddress: 0,
      failedConnectsPerSecond: 2,
      failedConnectsBurst: 4,
      unknownIdCacheMs: 10_000,
      busyConnectsInFlight: 50,
      busyQueuedWrites: 0,
      busyWriteLagMs: 3_000,
      reportIntervalMs: 30_000,
    });
  });

  it('refuses a malformed quota or limit, naming the variable', () => {
    expect(() => loadConfig({ FLOTILLA_UPLINK_QUOTAS: 'events=10' })).toThrow('CHANNEL=MESSAGES:BYTES');
    expect(() => loadConfig({ FLOTILLA_UPLINK_QUOTAS: 'desired=1:1' })).toThrow('FLOTILLA_UPLINK_QUOTAS');
    expect(() => loadConfig({ FLOTILLA_EVENTS_PER_DEVICE: '-5' })).toThrow('FLOTILLA_EVENTS_PER_DEVICE');
    expect(() => loadConfig({ FLOTILLA_DATABASE_POOL_MAX: '0' })).toThrow(
      'FLOTILLA_DATABASE_POOL_MAX must be a whole number from 1 to 1000',
    );
    expect(() => loadConfig({ FLOTILLA_DATABASE_CONNECT_TIMEOUT_S: '5s' })).toThrow('FLOTILLA_DATABASE_CONNECT_TIMEOUT_S');
  });

  it("takes the operator's certificate, key and chain", () => {
    const config = loadConfig({ FLOTILLA_TLS_CERT: '/etc/cp.pem', FLOTILLA_TLS_KEY: '/etc/cp.key', FLOTILLA_TLS_CHAIN: '/etc/chain.pem' });
    expect(config.tls?.source).toEqual({ kind: 'provided', certPath: '/etc/cp.pem', keyPath: '/etc/cp.key', chainPath: '/etc/chain.pem' });
    expect(() => loadConfig({ FLOTILLA_TLS_CERT: '/etc/cp.pem' })).toThrow('FLOTILLA_TLS_KEY');
  });

  it('runs behind a TLS-terminating proxy only when told its public URLs and CA', () => {
    const proxy = {
      FLOTILLA_TLS: 'terminated',
      FLOTILLA_TLS_CHAIN: '/etc/proxy-ca.pem',
      FLOTILLA_PUBLIC_API_URL: 'https://fleet.example.com',
      FLOTILLA_PUBLIC_MQTT_URL: 'mqtts://fleet.example.com:8883',
    };
    expect(loadConfig(proxy).tls?.source).toEqual({ kind: 'terminated', chainPath: '/etc/proxy-ca.pem' });
    expect(() => loadConfig({ ...proxy, FLOTILLA_TLS_CHAIN: '' })).toThrow('FLOTILLA_TLS_CHAIN');
    expect(() => loadConfig({ ...proxy, FLOTILLA_PUBLIC_MQTT_URL: 'mqtt://fleet.example.com:1883' })).toThrow('FLOTILLA_PUBLIC_MQTT_URL');
    expect(() => loadConfig({ FLOTILLA_TLS: 'off' })).toThrow('FLOTILLA_TLS');
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', FLOTILLA_API_KEY: ' ' }).databaseUrl).toBeUndefined();
  });

  it.each([
    ['PORT', 'http'],
    ['MQTT_PORT', '70000'],
    ['EMBEDDED_PG_PORT', '-1'],
  ])('refuses %s=%s', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  it('refuses a short operator key and a public MQTT URL with a path', () => {
    expect(() => loadConfig({ FLOTILLA_API_KEY: 'short' })).toThrow('at least 16');
    expect(() => loadConfig({ FLOTILLA_PUBLIC_MQTT_URL: 'http://host/x' })).toThrow('mqtt://host:port');
  });

  it('refuses public URLs with user info or characters no URL holds: they are written into every provisioning file', () => {
    expect(() => loadConfig({ FLOTILLA_PUBLIC_MQTT_URL: 'mqtts://user:secret@host:8883' })).toThrow('no user info');
    expect(() => loadConfig({ FLOTILLA_PUBLIC_API_URL: 'https://user:secret@host' })).toThrow('no user info');
    expect(() => loadConfig({ FLOTILLA_PUBLIC_API_URL: 'https://host name' })).toThrow('FLOTILLA_PUBLIC_API_URL');
  });

  it('takes a signing-key horizon of 1 to 255 rotations, and refuses anything else', () => {
    expect(loadConfig({ FLOTILLA_SIGNING_KEY_HORIZON: '90' }).signingKeyHorizon).toBe(90);
    expect(loadConfig({}).signingKeyHorizon).toBeUndefined();
    for (const bad of ['0', '256', 'ten', '1.5']) {
      expect(() => loadConfig({ FLOTILLA_SIGNING_KEY_HORIZON: bad })).toThrow(
        'FLOTILLA_SIGNING_KEY_HORIZON must be a number of rotations from 1 to 255',
      );
    }
  });

  it('takes a rollout lease of 1 to 3600 s, with a tick of a quarter of it (at most 2 s), and refuses anything else', () => {
    expect(loadConfig({ FLOTILLA_ROLLOUT_LEASE_S: '2' }).rollouts).toEqual({ leaseMs: 2000, tickMs: 500 });
    expect(loadConfig({ FLOTILLA_ROLLOUT_LEASE_S: '30' }).rollouts).toEqual({ leaseMs: 30_000, tickMs: 2000 });
    expect(loadConfig({}).rollouts).toBeUndefined();
    for (const bad of ['0', '3601', 'ten', '1.5']) {
      expect(() => loadConfig({ FLOTILLA_ROLLOUT_LEASE_S: bad })).toThrow(
        'FLOTILLA_ROLLOUT_LEASE_S must be a number of seconds from 1 to 3600',
      );
    }
  });
});
