import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import type { ProvisioningTokenView, RegisterDeviceResponse } from '@flotilla/shared';
import { UplinkRouter } from '../broker/uplink-router';
import { startControlPlane, type RunningControlPlane, type StartOptions } from '../bootstrap';
import type { ControlPlaneConfig } from '../config';
import { metricSamples } from './metrics';
import { createTestDatabase, type TestDatabase } from './test-database';

export interface Harness {
  cp: RunningControlPlane;
  db: TestDatabase;
  /** fetch against the API with the operator key, unless `auth: false`. */
  api(path: string, init?: RequestInit & { auth?: boolean }): Promise<Response>;
  /** A new provisioning token and a device registered with it: a password device (no CSR), as devices registered before certificates are. */
  registerDevice(name?: string): Promise<RegisterDeviceResponse & { password: string }>;
  /** Connects as the device, over TCP, as the agent does (client id = username = device id): the plain loopback listener, with the device's password. */
  connectDevice(device: { deviceId: string; password?: string | undefined }, options?: IClientOptions): Promise<MqttClient>;
  /** One sample of /metrics (read with the operator key), e.g. `metric('flotilla_uplink_messages_dropped_total', { reason: 'rejected' })`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /**
   * Takes every connection of the control plane's pool (10, DatabaseModule) until `release()`:
   * each waits on an advisory lock held by a session of the harness, which `close()` ends too,
   * so a failed test cannot keep the pool (and the close) waiting.
   */
  holdPool(): Promise<{ release(): Promise<void> }>;
  close(): Promise<void>;
}

/** Any key but the migrations' (`migrate-alone.ts`); advisory locks are per database. */
const POOL_GATE = 0x62757379; // "busy"

/**
 * A whole control plane in-process: real PostgreSQL (fresh database), real HTTP and MQTT ports; `config` overrides settings (e.g. limits).
 * `databaseFront` puts something between the control plane and its database (a proxy a test cuts): given the database's URL, the URL to use.
 */
export async function startHarness(
  config: Partial<ControlPlaneConfig> = {},
  options: StartOptions = {},
  databaseFront: (url: string) => Promise<string> = async (url) => url,
): Promise<Harness> {
  const db = await createTestDatabase();
  const dataDir = await mkdtemp(join(tmpdir(), 'flotilla-cp-'));
  const databaseUrl = await databaseFront(db.url);
  const cp = await startControlPlane(
    { host: '127.0.0.1', port: 0, mqttPort: 0, dataDir, databaseUrl, apiKey: 'test-operator-key-0123456789', ...config },
    { logLevels: ['error'], ...options },
  );
  const clients = new Set<MqttClient>();
  const gates = new Set<Client>();

  const api: Harness['api'] = (path, init = {}) => {
    const { auth = true, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (auth) headers.set('authorization', `Bearer ${cp.apiKey}`);
    if (typeof rest.body === 'string' && !headers.has('content-type')) headers.set('content-type', 'application/json');
    return fetch(`${cp.httpUrl}${path}`, { ...rest, headers });
  };

  return {
    cp,
    db,
    api,
    async registerDevice(name) {
      const token = (await (await api('/api/v1/provisioning-tokens', { method: 'POST', body: '{}' })).json()) as ProvisioningTokenView;
      const res = await api('/api/v1/devices/register', {
        method: 'POST',
        auth: false,
        body: JSON.stringify({ token: token.token, ...(name ? { name } : {}) }),
      });
      if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
      const registered = (await res.json()) as RegisterDeviceResponse;
      if (!registered.password) throw new Error('register: a registration without a CSR must answer a password');
      return { ...registered, password: registered.password };
    },
    async connectDevice(device, options = {}) {
      const client = await connectAsync(cp.mqttUrl, {
        clientId: device.deviceId,
        username: device.deviceId,
        password: device.password ?? '',
        protocolVersion: 4,
        reconnectPeriod: 0,
        connectTimeout: 5000,
        ...options,
      });
      clients.add(client);
      return client;
    },
    async metric(name, labels = {}) {
      const samples = metricSamples(await (await api('/metrics')).text(), name, labels);
      // Strict where metricValue is lenient: a misspelt name or label must fail the test, not read 0.
      if (samples.length === 0) throw new Error(`no sample ${name} ${JSON.stringify(labels)} on /metrics`);
      return samples.reduce((a, b) => a + b, 0);
    },
    async holdPool() {
      const gate = new Client({ connectionString: db.url });
      gates.add(gate);
      await gate.connect();
      await gate.query('SELECT pg_advisory_lock($1)', [POOL_GATE]);
      const pool = cp.app.get(DataSource);
      const held = Promise.all(Array.from({ length: 10 }, () => pool.query('SELECT pg_advisory_xact_lock_shared($1)', [POOL_GATE])));
      return {
        release: async () => {
          gates.delete(gate);
          await gate.end();
          await held;
        },
      };
    },
    async close() {
      await Promise.all([...gates].map((g) => g.end().catch(() => undefined)));
      await Promise.all([...clients].map((c) => c.endAsync(true).catch(() => undefined)));
      await cp.close();
      await db.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Resolves with the next message on `topic`, or rejects after `timeoutMs`. */
export function nextMessage(
  client: MqttClient,
  topic: string,
  timeoutMs = 5000,
): Promise<{ payload: Buffer; qos: number; retain: boolean }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new Error(`no message on ${topic} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (t: string, payload: Buffer, packet: { qos: number; retain: boolean }): void => {
      if (t !== topic) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve({ payload, qos: packet.qos, retain: packet.retain });
    };
    client.on('message', onMessage);
  });
}

/**
 * Collects what arrives on `topic` until a message `isSentinel` accepts, and resolves with the
 * messages before it. "Nothing arrived" is proven by publishing a sentinel after the action that
 * must stay silent: a broker delivers to one client in publish order, so anything the action
 * caused is already here when the sentinel is, however slow the control plane was.
 */
export function messagesBefore(
  client: MqttClient,
  topic: string,
  isSentinel: (payload: Buffer) => boolean,
  timeoutMs = 10_000,
): Promise<Buffer[]> {
  const seen: Buffer[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new Error(`no sentinel on ${topic} within ${timeoutMs} ms (${seen.length} other messages)`));
    }, timeoutMs);
    const onMessage = (t: string, payload: Buffer): void => {
      if (t !== topic) return;
      if (!isSentinel(payload)) return void seen.push(payload);
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve(seen);
    };
    client.on('message', onMessage);
  });
}

/**
 * Resolves once every device message the broker has routed so far is handled (handling is
 * serialized per device): the barrier after which a message's effects, or their absence, are final.
 */
export function uplinkHandled(h: Harness): Promise<void> {
  return h.cp.app.get(UplinkRouter).drain();
}

/** Polls `probe` until it returns true, for state the control plane writes asynchronously. */
export async function eventually(probe: () => Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
