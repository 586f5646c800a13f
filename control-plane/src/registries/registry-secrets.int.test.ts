import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { deviceTopic, readSignedDesired, type DesiredStatement, type RegisterDeviceResponse } from '@flotilla/shared';
import { startControlPlane, type RunningControlPlane } from '../bootstrap';
import { nextMessage } from '../testing/harness';
import { createTestDatabase, type TestDatabase } from '../testing/test-database';

/**
 * Integration (the whole control plane: real PostgreSQL, HTTP, the embedded broker over TCP):
 * an operator key (not admin) tries every route we know of to a registry password that an
 * admin stored and granted to one fleet: the API (answers and error messages), devices it
 * registers itself and then reads `desired` of over MQTT as the device, moving devices,
 * assigning releases, making fleets, the event stream, the audit log, and the process's own
 * log output. The password must appear in none of it, while an admin-registered device of the
 * granted fleet does receive it (so a leak would be seen).
 */
jest.setTimeout(60_000);

const SECRET = 'registry-pw-4f1c9e77d2';
const PRIVATE = '127.0.0.1:5999';
const IMAGE = `${PRIVATE}/team/app@sha256:${'a'.repeat(64)}`;
const ADMIN_KEY = 'registry-secrets-admin-key-0123456789';

let db: TestDatabase;
let dataDir: string;
let cp: RunningControlPlane;
let operatorKey: string;
const seen: string[] = [];
const logged: string[] = [];
const clients: MqttClient[] = [];
const writes = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };

/** The fields these answers are read for; the whole text is kept in `seen`. */
interface Answer {
  status: number;
  body: { id?: string; token?: string; key?: string; code?: string };
}

async function call(key: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${cp.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  seen.push(`${method} ${path} -> ${res.status} ${text}`);
  return {
    status: res.status,
    body: text && res.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as Answer['body']) : {},
  };
}
const admin = (method: string, path: string, body?: unknown) => call(ADMIN_KEY, method, path, body);
const operator = (method: string, path: string, body?: unknown) => call(operatorKey, method, path, body);

async function publish(key: string, version: string): Promise<string> {
  const res = await fetch(`${cp.httpUrl}/api/v1/releases`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/yaml' },
    body: `name: secret-app\nx-flotilla: { version: ${version} }\nservices:\n  app: { image: "${IMAGE}" }\n`,
  });
  const text = await res.text();
  seen.push(`publish ${version} -> ${res.status} ${text}`);
  expect(res.status).toBe(201);
  return (JSON.parse(text) as { id: string }).id;
}

async function register(token: string, name: string): Promise<RegisterDeviceResponse> {
  const res = await fetch(`${cp.httpUrl}/api/v1/devices/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, name }),
  });
  const text = await res.text();
  seen.push(`register ${name} -> ${res.status} ${text}`);
  expect(res.status).toBe(201);
  return JSON.parse(text) as RegisterDeviceResponse;
}

/** Connects as the device, records every message it receives, subscribes to its desired topic. */
async function connect(device: RegisterDeviceResponse): Promise<MqttClient> {
  const client = await connectAsync(cp.mqttUrl, {
    clientId: device.deviceId,
    username: device.deviceId,
    password: device.password,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  clients.push(client);
  client.on('message', (topic, payload) => seen.push(`mqtt ${topic} ${payload.toString()}`));
  await client.subscribeAsync(deviceTopic(device.deviceId, 'desired'), { qos: 1 });
  return client;
}

/** The device's current desired state (the signed statement's content), asked for as an agent does after a (re)connect. */
async function desiredOf(client: MqttClient, deviceId: string): Promise<DesiredStatement> {
  const arriving = nextMessage(client, deviceTopic(deviceId, 'desired'));
  await client.publishAsync(deviceTopic(deviceId, 'desired/get'), JSON.stringify({ schema: 1, rev: 0 }), { qos: 1 });
  const read = readSignedDesired((await arriving).payload);
  if (!read.ok) throw new Error(read.reason);
  return read.statement;
}

beforeAll(async () => {
  // Everything the process prints (Nest's logger writes straight to stdout and stderr), at every level.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    logged.push(chunk.toString());
    return writes.out(chunk, ...rest);
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    logged.push(chunk.toString());
    return writes.err(chunk, ...rest);
  }) as typeof process.stderr.write;
  db = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'flotilla-registry-secrets-'));
  cp = await startControlPlane(
    { host: '127.0.0.1', port: 0, mqttPort: 0, dataDir, databaseUrl: db.url, apiKey: ADMIN_KEY },
    { logLevels: ['log', 'error', 'warn', 'debug', 'verbose'] },
  );
  operatorKey = (await admin('POST', '/api/v1/operators/keys', { name: 'ops', role: 'operator' })).body.key!;
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  await cp?.close();
  process.stdout.write = writes.out;
  process.stderr.write = writes.err;
  await db?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

it('an operator key cannot obtain a granted registry login through any route or any device it registers', async () => {
  // The admin's setup: a login granted to fleet G, whose target pulls from that registry.
  const release = await publish(ADMIN_KEY, '1.0.0');
  const granted = (await admin('POST', '/api/v1/fleets', { name: 'granted', targetReleaseId: release })).body.id!;
  expect((await admin('PUT', `/api/v1/registries/${PRIVATE}/credentials`, { username: 'puller', password: SECRET })).status).toBe(200);
  expect((await admin('PUT', `/api/v1/registries/${PRIVATE}/grants/${granted}`)).status).toBe(200);

  // Positive control: a device an admin's token registered into G gets the login.
  const adminToken = (await admin('POST', `/api/v1/fleets/${granted}/provisioning-tokens`, {})).body.token!;
  const adminDevice = await register(adminToken, 'admin-registered');
  const adminClient = await connect(adminDevice);
  expect((await desiredOf(adminClient, adminDevice.deviceId)).registryAuth).toEqual([
    { registry: PRIVATE, username: 'puller', password: SECRET },
  ]);
  const controlSeen = seen.length;

  // 1. The registries API, reads included, and grants: refused.
  for (const [method, path, body] of [
    ['GET', '/api/v1/registries'],
    ['GET', '/api/v1/registries/token-auth'],
    ['PUT', `/api/v1/registries/${PRIVATE}/credentials`, { username: 'x', password: 'y' }],
    ['PUT', `/api/v1/registries/${PRIVATE}/grants/${granted}`],
    ['PUT', `/api/v1/registries/${PRIVATE}/token-auth`, {}],
    ['DELETE', `/api/v1/registries/${PRIVATE}/grants/${granted}`],
  ] as const)
    expect((await operator(method, path, body)).status).toBe(403);

  // 2. A provisioning token for the granted fleet, either route: refused, saying why.
  const forGranted = await operator('POST', `/api/v1/fleets/${granted}/provisioning-tokens`, {});
  expect(forGranted).toMatchObject({ status: 403, body: { code: 'granted_fleet_needs_admin' } });
  expect((await operator('POST', '/api/v1/provisioning-tokens', { fleetId: granted })).status).toBe(403);

  // 3. Its own device, then moved into the granted fleet: refused. Assigned the release directly: no login.
  const own = await register((await operator('POST', '/api/v1/provisioning-tokens', {})).body.token!, 'operator-own');
  const ownClient = await connect(own);
  expect((await operator('PUT', `/api/v1/devices/${own.deviceId}/fleet`, { fleetId: granted })).status).toBe(403);
  expect((await operator('PUT', `/api/v1/devices/${own.deviceId}/release`, { releaseId: release })).status).toBe(200);
  const ownDesired = await desiredOf(ownClient, own.deviceId);
  expect(ownDesired.release?.id).toBe(release);
  expect(ownDesired).not.toHaveProperty('registryAuth');

  // 4. A fleet of its own with that target, and a device registered into it.
  const mine = (await operator('POST', '/api/v1/fleets', { name: 'operator-fleet', targetReleaseId: release })).body.id!;
  const inMine = await register((await operator('POST', `/api/v1/fleets/${mine}/provisioning-tokens`, {})).body.token!, 'in-own-fleet');
  expect(await desiredOf(await connect(inMine), inMine.deviceId)).not.toHaveProperty('registryAuth');

  // 5. A token made before the admin granted that fleet: the device lands there, the login does not reach it.
  const early = (await operator('POST', `/api/v1/fleets/${mine}/provisioning-tokens`, { maxUses: 5 })).body.token!;
  expect((await admin('PUT', `/api/v1/registries/${PRIVATE}/grants/${mine}`)).status).toBe(200);
  const late = await register(early, 'registered-after-grant');
  const lateDesired = await desiredOf(await connect(late), late.deviceId);
  expect(lateDesired.release?.id).toBe(release);
  expect(lateDesired).not.toHaveProperty('registryAuth');

  // 6. The admin's device: moved out (allowed) and back into the granted fleet (refused).
  expect((await operator('PUT', `/api/v1/devices/${adminDevice.deviceId}/fleet`, { fleetId: null })).status).toBe(200);
  expect((await operator('PUT', `/api/v1/devices/${adminDevice.deviceId}/fleet`, { fleetId: granted })).status).toBe(403);

  // 7. The broker: its own device may not read another device's desired, nor ask for it.
  const refused = (await ownClient
    .subscribeAsync([deviceTopic(adminDevice.deviceId, 'desired'), 'devices/+/desired', '#'], { qos: 1 })
    .then(
      () => undefined,
      (e: unknown) => e,
    )) as { packet?: { granted?: number[] } } | undefined;
  expect(refused?.packet?.granted).toEqual([128, 128, 128]);
  const dropped = new Promise<void>((resolve) => ownClient.once('close', () => resolve()));
  ownClient.publish(deviceTopic(adminDevice.deviceId, 'desired/get'), JSON.stringify({ schema: 1, rev: 0 }), { qos: 1 });
  await dropped;

  // 8. Every read an operator has: devices, fleets, releases, audit, dashboard, the event stream, the API description.
  const stream = await fetch(`${cp.httpUrl}/api/v1/events/stream`, { headers: { authorization: `Bearer ${operatorKey}` } });
  for (const path of [
    `/api/v1/devices/${adminDevice.deviceId}`,
    '/api/v1/devices?limit=100',
    `/api/v1/fleets/${granted}`,
    '/api/v1/fleets',
    `/api/v1/releases/${release}`,
    '/api/v1/audit?limit=200',
    '/api/v1/dashboard/overview',
    '/api/v1/dashboard/devices',
    `/api/v1/dashboard/devices/${adminDevice.deviceId}/events`,
    '/api/v1/openapi.json',
    '/',
  ])
    await operator('GET', path);
  // The admin rotates the password meanwhile; then a change the stream reports, and the stream's text up to it.
  await admin('PUT', `/api/v1/registries/${PRIVATE}/credentials`, { username: 'puller', password: SECRET });
  const barrier = await publish(operatorKey, '1.0.1');
  const reader = stream.body!.getReader();
  let streamed = '';
  while (!streamed.includes(barrier)) {
    const { value, done } = await reader.read();
    if (done) break;
    streamed += new TextDecoder().decode(value);
  }
  await reader.cancel();
  seen.push(`stream ${streamed}`);

  // The verdict: the password went to the admin's device only, and nowhere else.
  expect(seen.slice(0, controlSeen).join('\n')).toContain(SECRET);
  expect(seen.slice(controlSeen).join('\n')).not.toContain(SECRET);
  const audit = await admin('GET', '/api/v1/audit?limit=200');
  expect(JSON.stringify(audit.body)).toContain('/api/v1/registries/:host/credentials');
  expect(JSON.stringify(audit.body)).not.toContain(SECRET);
  expect(logged.join('')).not.toContain(SECRET);
  expect(logged.length).toBeGreaterThan(0);
});
