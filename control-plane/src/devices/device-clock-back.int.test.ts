import { PROTOCOL_SCHEMA, deviceTopic, type Reported } from '@flotilla/shared';
import type { MqttClient } from 'mqtt';
import { eventually, startHarness, uplinkHandled, type Harness } from '../testing/harness';

/**
 * Integration (real broker over TCP, real PostgreSQL): a device whose clock went back. While
 * connected, a report dated before the stored one is dropped (a stale copy looks the same), but
 * counted and told in the device's events; after a reconnect (a reboot without a real-time clock),
 * its first report is taken whatever its date, so its state does not freeze until its clock
 * passes the old one.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
}, 60_000);
afterAll(() => h?.close(), 30_000);

const HOUR = 3_600_000;

const report = (rev: number, atMs: number): Reported => ({
  schema: PROTOCOL_SCHEMA,
  at: new Date(atMs).toISOString(),
  agentVersion: '0.1.0',
  rev,
  update: { phase: 'idle', active: null, candidate: null, failedRev: null, lastFailure: null },
  components: [],
});

async function stored(id: string): Promise<{ rev: number; at: string }> {
  const [r] = await h.db.query<{ rev: number; at: string }>(
    `SELECT (reported->>'rev')::int AS rev, reported->>'at' AS at FROM devices WHERE id = $1`,
    [id],
  );
  return r!;
}

async function send(client: MqttClient, id: string, r: Reported): Promise<void> {
  await client.publishAsync(deviceTopic(id, 'reported'), JSON.stringify(r), { qos: 1 });
  await uplinkHandled(h);
}

const olderDropped = () => h.metric('flotilla_uplink_clock_skew_total', { channel: 'reported', action: 'older-dropped' }).catch(() => 0);

it('counts and tells a report older than the stored one, and takes the first report of a new connection whatever its date', async () => {
  const device = await h.registerDevice();
  const id = device.deviceId;
  const now = Date.now();
  let client = await h.connectDevice(device);
  await send(client, id, report(1, now));
  expect((await stored(id)).rev).toBe(1);

  // The clock went back while connected: dropped, as a stale copy would be, but not silently.
  const before = await olderDropped();
  await send(client, id, report(2, now - HOUR));
  expect((await stored(id)).rev).toBe(1);
  expect((await olderDropped()) - before).toBe(1);
  await eventually(
    async () =>
      (
        await h.db.query(`SELECT 1 FROM device_events WHERE device_id = $1 AND kind = 'message-not-stored' AND message LIKE $2`, [
          id,
          "%older than the last report by the device's clock%",
        ])
      ).length === 1,
    5000,
    'the drop told in the device events',
  );

  // Rebooted without a real-time clock: a new connection, dated a day back.
  await client.endAsync();
  client = await h.connectDevice(device);
  await send(client, id, report(3, now - 24 * HOUR));
  expect((await stored(id)).rev).toBe(3);
  await send(client, id, report(4, now - 24 * HOUR + 1000));
  expect((await stored(id)).rev).toBe(4);

  // Again, saying nothing new at first: the stored date is rewound all the same, so the next change is taken.
  await client.endAsync();
  client = await h.connectDevice(device);
  await send(client, id, report(4, now - 48 * HOUR));
  expect((await stored(id)).at).toBe(new Date(now - 48 * HOUR).toISOString());
  await send(client, id, report(5, now - 48 * HOUR + 1000));
  expect((await stored(id)).rev).toBe(5);
  expect((await olderDropped()) - before).toBe(1);
}, 60_000);
