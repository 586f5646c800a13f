import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  PROTOCOL_SCHEMA,
  deviceTopic,
  type DeviceView,
  type RegisterDeviceResponse,
  type ReleaseView,
  type Reported,
} from '@flotilla/shared';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { startFailoverProxy, type FailoverProxy } from '../../../../test/support/failover-proxy';
import { freePort } from '../../../../test/support/ports';
import { startRabbitCluster, type RabbitCluster } from '../../../../test/support/rabbitmq';
import { startControlPlane, type RunningControlPlane } from '../../bootstrap';
import { openDesired } from '../../testing/desired';
import { eventually, nextMessage } from '../../testing/harness';
import { createTestDatabase, type TestDatabase } from '../../testing/test-database';
import { DEVICE_BROKER, type DeviceBroker } from '../device-broker';

/**
 * The external broker mode against a real 3-node RabbitMQ cluster (local processes, test/support/rabbitmq.ts)
 * and two control-plane replicas on one database. Devices and RabbitMQ's auth backend reach nodes and
 * replicas through failover proxies, as they would through a load balancer.
 */
jest.setTimeout(180_000);

const API_KEY = 'test-operator-key-0123456789';
const manifest = (version: string) => `
name: origin
x-flotilla: { version: ${version} }
services:
  web:
    image: 127.0.0.1:5000/flotilla/busybox@sha256:${'b'.repeat(64)}
    command: httpd -f -p 8080
`;
const reported = (rev: number): Reported => ({
  schema: PROTOCOL_SCHEMA,
  at: new Date().toISOString(),
  agentVersion: '0.1.0',
  rev,
  update: { phase: 'idle', active: null, candidate: null, failedRev: null, lastFailure: null },
  components: [],
});

let cluster: RabbitCluster;
let db: TestDatabase;
let dataDir: string;
let auth: FailoverProxy;
let mqttProxy: FailoverProxy;
const authPorts: number[] = [];
const replicas: (RunningControlPlane | undefined)[] = [undefined, undefined];
/** Uplink messages each replica's port delivered (a listener of the test's own). */
const handledBy = [0, 0];
const clients = new Set<MqttClient>();

async function startReplica(i: number): Promise<RunningControlPlane> {
  const nodes = cluster.nodes;
  const rotated = [...nodes.slice(i), ...nodes.slice(0, i)];
  const cp = await startControlPlane(
    {
      host: '127.0.0.1',
      port: 0,
      mqttPort: 0,
      dataDir,
      databaseUrl: db.url,
      apiKey: API_KEY,
      publicMqttUrl: mqttProxy.url('mqtt'),
      rabbitmq: {
        amqpUrls: rotated.map((n) => n.amqpUrl),
        managementUrls: rotated.map((n) => n.managementUrl),
        deviceMqttUrl: mqttProxy.url('mqtt'),
        authListener: { host: '127.0.0.1', port: authPorts[i]! },
        vhost: '/',
        prefetch: 16,
      },
    },
    { logLevels: ['error'] },
  );
  cp.app.get<symbol, DeviceBroker>(DEVICE_BROKER).onUplink(async () => void handledBy[i]!++);
  replicas[i] = cp;
  return cp;
}

function api(i: number, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${API_KEY}`);
  if (typeof init.body === 'string' && !headers.has('content-type')) headers.set('content-type', 'application/json');
  return fetch(`${replicas[i]!.httpUrl}${path}`, { ...init, headers });
}

async function register(i: number): Promise<RegisterDeviceResponse & { password: string }> {
  const token = (await (await api(i, '/api/v1/provisioning-tokens', { method: 'POST', body: '{}' })).json()) as { token: string };
  const res = await fetch(`${replicas[i]!.httpUrl}/api/v1/devices/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: token.token }),
  });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
  return (await res.json()) as RegisterDeviceResponse & { password: string };
}

async function device(i: number, id: string): Promise<DeviceView> {
  return (await (await api(i, `/api/v1/devices/${id}`)).json()) as DeviceView;
}

async function connectDevice(d: { deviceId: string; password: string }, options: IClientOptions = {}): Promise<MqttClient> {
  const client = await connectAsync(mqttProxy.url('mqtt'), {
    clientId: d.deviceId,
    username: d.deviceId,
    password: d.password,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...options,
  });
  clients.add(client);
  return client;
}

function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => (client.connected ? client.once('close', () => resolve()) : resolve()));
}

let release: ReleaseView;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'flotilla-cp-'));
  authPorts.push(await freePort(), await freePort());
  auth = await startFailoverProxy(() => authPorts);
  cluster = await startRabbitCluster(3, auth.url('http'));
  mqttProxy = await startFailoverProxy(() => cluster.nodes.filter((n) => n.running).map((n) => n.mqttPort));
  // One after the other: the first applies the migrations.
  await startReplica(0);
  await startReplica(1);
  const res = await api(0, '/api/v1/releases', {
    method: 'POST',
    body: manifest('1.0.0'),
    headers: { 'content-type': 'application/yaml' },
  });
  release = (await res.json()) as ReleaseView;
});

afterAll(async () => {
  await Promise.all([...clients].map((c) => c.endAsync(true).catch(() => undefined)));
  for (const cp of replicas) await cp?.close();
  await mqttProxy?.close();
  await cluster?.close();
  await auth?.close();
  await db?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('the control plane on an external RabbitMQ cluster', () => {
  it('hands a device its desired and stores its reports, through RabbitMQ, with two replicas', async () => {
    const d = await register(1);
    const client = await connectDevice(d);
    const topic = deviceTopic(d.deviceId, 'desired');
    await client.subscribeAsync(topic, { qos: 1 });

    const arriving = nextMessage(client, topic, 10_000);
    const assigned = await api(0, `/api/v1/devices/${d.deviceId}/release`, {
      method: 'PUT',
      body: JSON.stringify({ releaseId: release.id }),
    });
    expect(assigned.status).toBe(200);
    expect(openDesired((await arriving).payload, d.releaseKeys)).toMatchObject({ deviceId: d.deviceId, rev: 1 });

    // Level-triggered: asked again (as after a missed message), whichever replica takes the request answers.
    const again = nextMessage(client, topic, 10_000);
    await client.publishAsync(deviceTopic(d.deviceId, 'desired/get'), JSON.stringify({ schema: 1, rev: 0 }), { qos: 1 });
    expect(openDesired((await again).payload, d.releaseKeys).rev).toBe(1);

    await client.publishAsync(deviceTopic(d.deviceId, 'reported'), JSON.stringify(reported(1)), { qos: 1 });
    await eventually(async () => (await device(1, d.deviceId)).reported?.rev === 1, 10_000, 'reported rev 1 on replica 1');
    expect((await device(0, d.deviceId)).reported?.rev).toBe(1);
  });

  it("refuses a device another device's topics, a wrong password and a borrowed client id", async () => {
    const [me, other] = [await register(0), await register(1)];
    await expect(connectDevice({ ...me, password: 'wrong' })).rejects.toThrow();
    await expect(connectDevice(me, { clientId: other.deviceId })).rejects.toThrow();

    for (const filter of [deviceTopic(other.deviceId, 'desired'), 'flotilla/v1/d/+/desired', 'flotilla/v1/#']) {
      const client = await connectDevice(me);
      const gone = closed(client);
      await client.subscribeAsync(filter, { qos: 1 }).catch(() => undefined);
      await gone;
    }

    // A forged report is refused by RabbitMQ (the connection closes); the other device's own report, sent after, is the barrier.
    const forger = await connectDevice(me);
    const gone = closed(forger);
    void forger.publishAsync(deviceTopic(other.deviceId, 'reported'), JSON.stringify(reported(99)), { qos: 1 }).catch(() => undefined);
    await gone;
    const victim = await connectDevice(other);
    await victim.publishAsync(deviceTopic(other.deviceId, 'events'), JSON.stringify(event('barrier')), { qos: 1 });
    await eventually(async () => (await eventsOf([other.deviceId])) === 1, 10_000, 'the barrier event');
    expect((await device(0, other.deviceId)).reported).toBeNull();

    // Its own topics stay open to it.
    const own = await connectDevice(me);
    await own.subscribeAsync(deviceTopic(me.deviceId, 'desired'), { qos: 1 });
    expect(own.connected).toBe(true);
  });

  it('shares the uplink between the replicas: every message handled once, by one of them', async () => {
    const devices = await Promise.all(Array.from({ length: 10 }, (_, i) => register(i % 2)));
    const before = [...handledBy];
    const perDevice = 20;
    await Promise.all(
      devices.map(async (d) => {
        const client = await connectDevice(d);
        for (let n = 0; n < perDevice; n++) {
          await client.publishAsync(deviceTopic(d.deviceId, 'events'), JSON.stringify(event(`seq-${n}`)), { qos: 1 });
        }
      }),
    );
    const ids = devices.map((d) => d.deviceId);
    await eventually(async () => (await eventsOf(ids)) >= ids.length * perDevice, 30_000, 'every event stored');
    const handled = handledBy.map((n, i) => n - before[i]!);
    expect(await eventsOf(ids)).toBe(ids.length * perDevice);
    expect(handled[0]! + handled[1]!).toBe(ids.length * perDevice);
    expect(handled[0]).toBeGreaterThan(0);
    expect(handled[1]).toBeGreaterThan(0);
  });
});

function event(message: string) {
  return { schema: PROTOCOL_SCHEMA, at: new Date().toISOString(), kind: 'apply-started', message };
}

async function eventsOf(ids: string[]): Promise<number> {
  const [row] = await db.query<{ n: string }>('SELECT count(*) AS n FROM device_events WHERE device_id = ANY($1)', [ids]);
  return Number(row!.n);
}
