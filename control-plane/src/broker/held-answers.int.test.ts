import { randomUUID } from 'node:crypto';
import { PROTOCOL_SCHEMA, deviceTopic, type DeviceEvent, type ReleaseView } from '@flotilla/shared';
import { DevicesService } from '../devices/devices.service';
import { openDesired } from '../testing/desired';
import { eventually, nextMessage, startHarness, uplinkHandled, type Harness } from '../testing/harness';
import { idleReport } from '../testing/reports';
import { manifest } from '../testing/sim-fleet';
import { UplinkRouter } from './uplink-router';

/**
 * Integration (real PostgreSQL, MQTT over TCP): while a fan-out of desired states is publishing,
 * a device's answers (`reported`, `events`) wait in memory and are stored once it has drained;
 * its `desired/get` is answered meanwhile. "Not stored yet" is checked once the router holds both
 * messages, the moment they would otherwise have been handled.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
}, 60_000);
afterAll(() => h?.close(), 30_000);

async function stored(deviceId: string): Promise<{ rev: number | null; events: number }> {
  const [r] = await h.db.query<{ rev: number | null; events: string }>(
    `SELECT (reported->>'rev')::int AS rev, (SELECT count(*) FROM device_events e WHERE e.device_id = d.id AND e.kind = 'update-committed') AS events
       FROM devices d WHERE d.id = $1`,
    [deviceId],
  );
  return { rev: r!.rev, events: Number(r!.events) };
}

it("holds a device's reports and events while a fan-out publishes, answers its desired/get meanwhile, and stores them after", async () => {
  const res = await h.api('/api/v1/releases', { method: 'POST', body: manifest('1.0.0'), headers: { 'content-type': 'application/yaml' } });
  const release = (await res.json()) as ReleaseView;
  const device = await h.registerDevice();
  const pinned = await h.api(`/api/v1/devices/${device.deviceId}/release`, {
    method: 'PUT',
    body: JSON.stringify({ releaseId: release.id }),
  });
  expect(pinned.status).toBe(200);
  const client = await h.connectDevice(device);
  await client.subscribeAsync(deviceTopic(device.deviceId, 'desired'), { qos: 1 });
  await uplinkHandled(h);
  const router = h.cp.app.get(UplinkRouter);

  // A fan-out in flight (one nobody has ended yet).
  const fanout = h.cp.app.get(DevicesService).desiredFanout();
  const event: DeviceEvent = {
    schema: PROTOCOL_SCHEMA,
    id: randomUUID(),
    at: new Date().toISOString(),
    kind: 'update-committed',
    rev: 1,
    message: 'committed',
  };
  await client.publishAsync(deviceTopic(device.deviceId, 'reported'), JSON.stringify(idleReport(1)), { qos: 1 });
  await client.publishAsync(deviceTopic(device.deviceId, 'events'), JSON.stringify(event), { qos: 1 });
  await eventually(async () => router.held.size === 2, 5000, 'both answers held');
  expect(await stored(device.deviceId)).toEqual({ rev: null, events: 0 });

  // What the device waits on is not held.
  const arriving = nextMessage(client, deviceTopic(device.deviceId, 'desired'), 10_000);
  await client.publishAsync(deviceTopic(device.deviceId, 'desired/get'), JSON.stringify({ schema: PROTOCOL_SCHEMA, rev: 0 }), { qos: 1 });
  expect(openDesired((await arriving).payload)).toMatchObject({ deviceId: device.deviceId, rev: 1 });
  expect(router.held.size).toBe(2);

  await fanout.end();
  await eventually(async () => (await stored(device.deviceId)).rev === 1, 5000, 'the held report stored');
  expect(await stored(device.deviceId)).toEqual({ rev: 1, events: 1 });
  expect(router.held.size).toBe(0);
  expect(await h.metric('flotilla_uplink_answers_held_total', { what: 'messages' })).toBe(2);
  expect(await h.metric('flotilla_uplink_answers_held_total', { what: 'releases' })).toBe(1);

  // With no fan-out in flight, an answer is stored as it comes.
  await client.publishAsync(deviceTopic(device.deviceId, 'reported'), JSON.stringify(idleReport(2)), { qos: 1 });
  await eventually(async () => (await stored(device.deviceId)).rev === 2, 5000, 'the next report stored');
  expect(router.held.size).toBe(0);
  await client.endAsync();
}, 60_000);
