import { setTimeout as sleep } from 'node:timers/promises';
import { PROTOCOL_SCHEMA, deviceTopic, type DeviceEvent, type Reported } from '@flotilla/shared';
import type { MqttClient } from 'mqtt';
import { startHarness, uplinkHandled, type Harness } from '../testing/harness';
import { idleReport } from '../testing/reports';
import { DevicePresenceRepository } from './device-presence.repository';
import { LAST_SEEN_RESOLUTION_MS } from './last-seen-memory';

/**
 * Integration (real PostgreSQL, MQTT over TCP): a device's last-seen is written at most once per
 * resolution by the process it talks to. An event right after a report (as each device sends at
 * the end of an update) rewrites no row; one after the resolution does. "No write" is read from
 * the row's version (`xmin`), after the barrier that every message was handled.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
}, 60_000);
afterAll(() => h?.close(), 30_000);

const report = (rev: number): Reported => idleReport(rev, [{ name: 'web', image: 'busybox', state: 'running', health: 'healthy' }]);
const event = (rev: number): DeviceEvent => ({
  schema: PROTOCOL_SCHEMA,
  at: new Date().toISOString(),
  kind: 'update-committed',
  rev,
  message: `committed rev ${rev}`,
});

async function row(id: string): Promise<{ version: string; lastSeen: Date; events: number }> {
  const [r] = await h.db.query<{ version: string; last_seen_at: Date; events: number }>(
    `SELECT xmin::text AS version, last_seen_at, (SELECT count(*)::int FROM device_events e WHERE e.device_id = d.id) AS events
       FROM devices d WHERE id = $1`,
    [id],
  );
  return { version: r!.version, lastSeen: r!.last_seen_at, events: r!.events };
}

async function send(client: MqttClient, topic: string, payload: unknown): Promise<void> {
  await client.publishAsync(topic, JSON.stringify(payload), { qos: 1 });
  await uplinkHandled(h);
}

it("writes a device's last-seen once per resolution: not again for an event right after its report, again after", async () => {
  const device = await h.registerDevice();
  const presence = h.cp.app.get(DevicePresenceRepository);
  const client = await h.connectDevice(device);
  await send(client, deviceTopic(device.deviceId, 'reported'), report(1));
  const reported = await row(device.deviceId);

  const skipped = presence.touchesSkipped;
  await send(client, deviceTopic(device.deviceId, 'events'), event(1));
  const afterEvent = await row(device.deviceId);
  expect(afterEvent.events).toBe(1);
  expect(afterEvent.version).toBe(reported.version);
  expect(presence.touchesSkipped - skipped).toBe(1);

  await sleep(LAST_SEEN_RESOLUTION_MS + 100);
  await send(client, deviceTopic(device.deviceId, 'events'), event(2));
  const later = await row(device.deviceId);
  expect(later.events).toBe(2);
  expect(later.version).not.toBe(reported.version);
  expect(later.lastSeen.getTime()).toBeGreaterThan(reported.lastSeen.getTime());
  expect(presence.touchesSkipped - skipped).toBe(1);
  await client.endAsync();
}, 60_000);
