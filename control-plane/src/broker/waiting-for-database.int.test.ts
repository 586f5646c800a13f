import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { MqttClient } from 'mqtt';
import { PROTOCOL_SCHEMA, deviceTopic, type DeviceEvent } from '@flotilla/shared';
import { LimitStats } from '../limits/limit-stats';
import { eventually, startHarness, uplinkHandled, type Harness } from '../testing/harness';
import { startTcpSwitch, type TcpSwitch } from '../testing/tcp-switch';
import { idleReport } from '../testing/reports';
import { UplinkRouter } from './uplink-router';

/**
 * Integration (real PostgreSQL behind a TCP switch the test cuts, the embedded broker, real MQTT
 * clients over TCP): what device messages wait in memory while the database is away is bounded.
 * Events wait up to their bounds (6 per device, 10 in all here); at half a bound the next event of a
 * device is refused before its PUBACK, so the device keeps it and sends it again after reconnecting,
 * and every event is stored once the database is back. Before, every event was acknowledged and
 * waited, without bound. A device's reports wait one at most behind the one being written.
 */
jest.setTimeout(60_000);

let h: Harness;
let front: TcpSwitch;
let dbPort: number;

beforeAll(async () => {
  h = await startHarness({ limits: { eventsWaitingPerDevice: 6, eventsWaitingTotal: 10 } }, {}, async (url) => {
    const u = new URL(url);
    dbPort = Number(u.port);
    front = await startTcpSwitch(dbPort);
    u.port = new URL(front.url).port;
    return u.toString();
  });
});
afterAll(async () => {
  await h?.close();
  await front?.close();
});

const event = (message: string): DeviceEvent => ({
  schema: PROTOCOL_SCHEMA,
  id: randomUUID(),
  at: new Date().toISOString(),
  kind: 'apply-started',
  message,
});

afterEach(() => {
  front.target = dbPort;
});

function databaseAway(): void {
  front.target = null;
  front.cut();
}

function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.once('close', () => resolve()));
}

async function stored(deviceId: string): Promise<string[]> {
  const rows = await h.db.query<{ message: string }>('SELECT message FROM device_events WHERE device_id = $1 ORDER BY message', [deviceId]);
  return rows.map((r) => r.message);
}

it('refuses an event at a bound unacknowledged; the device sends it again after reconnecting, and all are stored', async () => {
  const router = h.cp.app.get(UplinkRouter);
  const stats = h.cp.app.get(LimitStats);
  const [a, b] = [await h.registerDevice(), await h.registerDevice()];
  // As the agent connects (agent/src/link/mqtt-link.ts): a session of its own, reconnects by `connect()` on the same client.
  const [ca, cb] = [await h.connectDevice(a, { clean: false }), await h.connectDevice(b, { clean: false })];
  const send = (client: MqttClient, deviceId: string, message: string) =>
    client.publishAsync(deviceTopic(deviceId, 'events'), JSON.stringify(event(message)), { qos: 1 });

  databaseAway();
  // Each resolves on its PUBACK: taken, and waiting for the database.
  for (const m of ['a1', 'a2', 'a3']) await send(ca, a.deviceId, m);
  for (const m of ['b1', 'b2']) await send(cb, b.deviceId, m);
  await eventually(async () => router.events.backlog.size === 5, 5_000, 'five events waiting');

  // a is at half its own bound, b at half the bound of all: the next event of each is refused, the device disconnected.
  const [aClosed, bClosed] = [closed(ca), closed(cb)];
  const aLate = send(ca, a.deviceId, 'a4');
  const bLate = send(cb, b.deviceId, 'b3');
  await Promise.all([aClosed, bClosed]);
  expect(stats.total('publishesRefused', { reason: 'events-waiting-device' })).toBe(1);
  expect(stats.total('publishesRefused', { reason: 'events-waiting-total' })).toBe(1);
  expect(router.events.backlog.size).toBe(5);

  front.target = dbPort;
  await eventually(
    async () => (await stored(a.deviceId)).length === 3 && (await stored(b.deviceId)).length === 2,
    15_000,
    'the taken events',
  );
  expect(router.events.backlog.size).toBe(0);

  // The unacknowledged events are still the clients' own; a reconnect sends them again.
  ca.connect();
  cb.connect();
  await Promise.all([aLate, bLate]);
  await eventually(
    async () => (await stored(a.deviceId)).length === 4 && (await stored(b.deviceId)).length === 3,
    10_000,
    'the refused events',
  );
  expect(await stored(a.deviceId)).toEqual(['a1', 'a2', 'a3', 'a4']);
  expect(await stored(b.deviceId)).toEqual(['b1', 'b2', 'b3']);
  expect(await h.metric('flotilla_mqtt_publishes_refused_total', { reason: 'events-waiting-device' })).toBe(1);
  expect(stats.total('eventsDropped')).toBe(0);
});

it('keeps one report per device waiting behind the one being written, the latest, and stores it once the database is back', async () => {
  const router = h.cp.app.get(UplinkRouter);
  const d = await h.registerDevice();
  const client = await h.connectDevice(d);
  const replacedBefore = router.latest.get('reported')!.replaced;
  await uplinkHandled(h); // its connect's presence is written: nothing of it waits in its queue
  databaseAway();
  for (let rev = 1; rev <= 30; rev++)
    await client.publishAsync(deviceTopic(d.deviceId, 'reported'), JSON.stringify(idleReport(rev)), { qos: 1 });
  // The first is being written, the second waits; each later one took the waiting one's place (before: 28 more waited).
  await eventually(async () => router.latest.get('reported')!.replaced - replacedBefore === 28, 5_000, '28 reports replaced');
  front.target = dbPort;
  const storedRev = async () =>
    (await h.db.query<{ rev: number }>(`SELECT (reported->>'rev')::int AS rev FROM devices WHERE id = $1`, [d.deviceId]))[0]?.rev;
  await eventually(async () => (await storedRev()) === 30, 15_000, 'the last report stored');
});

/** An MQTT 3.1.1 PUBLISH at QoS 1, as bytes: several written at once reach the broker in one read. */
function publishPacket(topic: string, id: number, payload: string): Buffer {
  const body = Buffer.concat([
    Buffer.from([topic.length >> 8, topic.length & 0xff]),
    Buffer.from(topic),
    Buffer.from([id >> 8, id & 0xff]),
    Buffer.from(payload),
  ]);
  const length: number[] = [];
  for (let n = body.length; ;) {
    const byte = n % 128;
    n = Math.floor(n / 128);
    length.push(n > 0 ? byte | 0x80 : byte);
    if (n === 0) break;
  }
  return Buffer.concat([Buffer.from([0x32, ...length]), body]);
}

it('drops, counts and stores none twice of a burst read at once that passes the gate together and overflows a bound', async () => {
  const router = h.cp.app.get(UplinkRouter);
  const stats = h.cp.app.get(LimitStats);
  const d = await h.registerDevice();
  const client = await h.connectDevice(d);
  await uplinkHandled(h);
  databaseAway();
  const burst = Array.from({ length: 8 }, (_, i) =>
    publishPacket(deviceTopic(d.deviceId, 'events'), 60_000 + i, JSON.stringify(event(`burst-${i}`))),
  );
  (client.stream as Duplex).write(Buffer.concat(burst));
  // All eight pass the gate (none counted yet, aedes authorizes a read's packets before delivering one): six wait, two are dropped.
  await eventually(async () => stats.total('eventsDropped', { bound: 'device' }) === 2, 5_000, 'two events dropped');
  expect(router.events.backlog.size).toBe(6);
  front.target = dbPort;
  await eventually(async () => (await stored(d.deviceId)).length === 6, 15_000, 'the six taken');
  expect(await stored(d.deviceId)).toEqual(['burst-0', 'burst-1', 'burst-2', 'burst-3', 'burst-4', 'burst-5']);
  expect(await h.metric('flotilla_device_events_dropped_total', { bound: 'device' })).toBe(2);
});
