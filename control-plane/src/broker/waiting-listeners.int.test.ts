import { mkdtemp, rm } from 'node:fs/promises';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import type { ProvisioningTokenView, RegisterDeviceResponse } from '@flotilla/shared';
import { startControlPlane, type RunningControlPlane } from '../bootstrap';
import type { ControlPlaneConfig } from '../config';
import { createTestDatabase, type TestDatabase } from '../testing/test-database';
import { closeWaitingListeners, openWaitingListeners, WaitingListener, type WaitingListeners } from './waiting-listeners';

/**
 * Integration (real PostgreSQL, real MQTT over TCP and TLS, the control plane started twice on one
 * database): the MQTT ports opened before a start (as main.ts opens them) hold the connections
 * devices make while the control plane is still loading, and its broker serves them once ready:
 * the devices get their CONNACK without a retry, a wrong password is still refused.
 */
jest.setTimeout(60_000);

const KEY = 'waiting-listeners-operator-key-0123456789';
let db: TestDatabase;
let dataDir: string;
let cp: RunningControlPlane | undefined;
let waiting: WaitingListeners | undefined;
const clients: MqttClient[] = [];

const config = (mqttPort: number, mqttsPort: number): ControlPlaneConfig => ({
  host: '127.0.0.1',
  port: 0,
  mqttPort,
  tls: { source: { kind: 'generated', extraNames: [] }, httpsPort: 0, mqttsPort },
  dataDir,
  databaseUrl: db.url,
  apiKey: KEY,
});

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'flotilla-waiting-'));
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  await closeWaitingListeners(waiting);
  await cp?.close();
  await db?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

async function register(running: RunningControlPlane): Promise<{ deviceId: string; password: string }> {
  const api = (path: string, body: unknown, auth = true): Promise<Response> =>
    fetch(`${running.httpUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${KEY}` } : {}) },
      body: JSON.stringify(body),
    });
  const token = (await (await api('/api/v1/provisioning-tokens', {})).json()) as ProvisioningTokenView;
  const device = (await (await api('/api/v1/devices/register', { token: token.token }, false)).json()) as RegisterDeviceResponse;
  return { deviceId: device.deviceId, password: device.password! };
}

/** Connects once (no retry: a refused connect fails it), within 30 s as the agent allows. */
function connect(url: string, device: { deviceId: string; password: string }, options: IClientOptions = {}): Promise<MqttClient> {
  const client = connectAsync(url, {
    clientId: device.deviceId,
    username: device.deviceId,
    password: device.password,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 30_000,
    ...options,
  });
  void client.then((c) => clients.push(c)).catch(() => undefined);
  return client;
}

async function until(done: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (const t0 = performance.now(); !(await done()); await new Promise((r) => setTimeout(r, 20))) {
    if (performance.now() - t0 > 10_000) throw new Error(`${what} not reached within 10 s`);
  }
}

it('holds the connections made while the control plane starts, and its broker serves them once ready', async () => {
  // A first run registers the devices (and makes the TLS material), then stops.
  const first = await startControlPlane(config(0, 0), { logLevels: ['error'] });
  const [plainDevice, tlsDevice] = [await register(first), await register(first)];
  const ca = first.tls!.caCertificates;
  await first.close();

  const opened = (waiting = await openWaitingListeners(config(0, 0)))!;
  const ports = { plain: opened.plain.port, secure: opened.secure!.port };
  const connects = {
    plain: connect(`mqtt://127.0.0.1:${ports.plain}`, plainDevice),
    tls: connect(`mqtts://127.0.0.1:${ports.secure}`, tlsDevice, { ca, rejectUnauthorized: true }),
    badPassword: connect(`mqtt://127.0.0.1:${ports.plain}`, { ...tlsDevice, password: 'not-its-password' }),
  };
  const settled: string[] = [];
  for (const [name, p] of Object.entries(connects)) void p.then(() => settled.push(name)).catch(() => settled.push(name));
  // Accepted and held: nothing answers them before the broker takes the ports over.
  await until(() => opened.plain.held === 2 && opened.secure!.held === 1, 'three connections held');
  expect(settled).toEqual([]);

  cp = await startControlPlane(config(ports.plain, ports.secure), { logLevels: ['error'], waitingMqtt: opened });
  expect(cp.mqttUrl).toBe(`mqtt://127.0.0.1:${ports.plain}`);
  const [plain, tls] = await Promise.all([connects.plain, connects.tls]);
  expect(plain.connected && tls.connected).toBe(true);
  await expect(connects.badPassword).rejects.toMatchObject({ code: 4 });
  expect(opened.plain.held + opened.secure!.held).toBe(0);

  // Served by the new process: marked online by it, and a later device connects as usual.
  const online = async (): Promise<string[]> =>
    (await db.query<{ id: string }>('SELECT id FROM devices WHERE online')).map((r) => r.id).sort();
  await until(async () => (await online()).length === 2, 'both devices online');
  expect(await online()).toEqual([plainDevice.deviceId, tlsDevice.deviceId].sort());
  await plain.endAsync();
  expect((await connect(cp.mqttUrl, plainDevice)).connected).toBe(true);
});

it('closes the oldest held connection past its bound: that device retries later, the others keep their place', async () => {
  const listener = await WaitingListener.open(0, '127.0.0.1', 2);
  try {
    const sockets = [0, 1, 2].map(() => connectTcp(listener.port, '127.0.0.1').on('error', () => undefined));
    const firstClosed = new Promise<void>((resolve) => sockets[0]!.once('close', () => resolve()));
    await until(() => listener.held === 2 && sockets.every((s) => !s.connecting), 'three accepted, two held');
    await firstClosed;
    const handed: number[] = [];
    listener.handOver((socket) => {
      handed.push(socket.remotePort!);
      socket.destroy();
    });
    expect(handed).toEqual([sockets[1]!.localPort, sockets[2]!.localPort]);
    sockets.forEach((s) => s.destroy());
  } finally {
    await listener.close();
  }
});

it('holds at most the per-address cap from one address: a host opening connections fast cannot push a device out of line', async () => {
  const listener = await WaitingListener.open(0, '127.0.0.1', 3, 2);
  try {
    const device = connectTcp(listener.port, '127.0.0.1').on('error', () => undefined);
    await until(() => listener.held === 1, 'the device held');
    // Another host: the whole of 127.0.0.0/8 is this machine's loopback.
    const flood = [0, 1, 2, 3, 4].map(() =>
      connectTcp({ port: listener.port, host: '127.0.0.1', localAddress: '127.0.0.2' }).on('error', () => undefined),
    );
    await until(() => flood.every((s) => !s.connecting), 'the other host connected');
    await listener.drain();
    expect(listener.held).toBe(3);
    const handed: string[] = [];
    listener.handOver((socket) => {
      handed.push(socket.remoteAddress!);
      socket.destroy();
    });
    expect(handed).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.2']);
    [device, ...flood].forEach((s) => s.destroy());
  } finally {
    await listener.close();
  }
});

it('drains its accept queue: what queued while the event loop was busy is all accepted, where a turn accepts one', async () => {
  const listener = await WaitingListener.open(0, '127.0.0.1');
  const count = 300;
  const sockets = Array.from({ length: count }, () => connectTcp(listener.port, '127.0.0.1').on('error', () => undefined));
  try {
    // Their SYNs go out on the next tick; the kernel completes the handshakes while the loop is busy (as loading code keeps it).
    await new Promise((resolve) => process.nextTick(resolve));
    for (const t0 = performance.now(); performance.now() - t0 < 200;);
    await new Promise((resolve) => setImmediate(resolve));
    expect(listener.held).toBeLessThan(count);

    await listener.drain();
    expect(listener.held).toBe(count);
  } finally {
    sockets.forEach((s) => s.destroy());
    await listener.close();
  }
});
