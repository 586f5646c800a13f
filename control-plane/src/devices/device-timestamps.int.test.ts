import { PROTOCOL_SCHEMA, deviceTopic, type Reported } from '@flotilla/shared';
import type { MqttClient } from 'mqtt';
import type { QueryRunner } from 'typeorm';
import { LegacyReportOffsets1765280000000 } from '../database/migrations/1765280000000-legacy-report-offsets';
import { eventually, startHarness, uplinkHandled, type Harness } from '../testing/harness';

/**
 * Integration (real PostgreSQL, MQTT over TCP): a device timestamp that ISO 8601 and `Date.parse`
 * accept but PostgreSQL refuses (a UTC offset of 16 h or more) is refused at the edge, counted as
 * rejected, on every channel that stores one; it never reaches a row, and the device's next valid
 * report is stored. A stored `at` of that kind (accepted before) is rewritten by a migration, and
 * holds no later report back.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
}, 60_000);
afterAll(() => h?.close(), 30_000);

/** The instant `ms` written with a UTC offset of `hours` (e.g. 16: "…+16:00"), as a device's local clock would. */
function withOffset(ms: number, hours: number): string {
  const local = new Date(ms + hours * 3_600_000).toISOString().slice(0, 23);
  return `${local}${hours < 0 ? '-' : '+'}${String(Math.abs(hours)).padStart(2, '0')}:00`;
}

const report = (rev: number, at: string): Reported => ({
  schema: PROTOCOL_SCHEMA,
  at,
  agentVersion: '0.1.0',
  rev,
  update: { phase: 'idle', active: null, candidate: null, failedRev: null, lastFailure: null },
  components: [],
});

async function storedRev(id: string): Promise<number | null> {
  const [r] = await h.db.query<{ rev: number | null }>(`SELECT (reported->>'rev')::int AS rev FROM devices WHERE id = $1`, [id]);
  return r!.rev;
}

async function publish(client: MqttClient, id: string, channel: 'reported' | 'events' | 'telemetry', body: unknown): Promise<void> {
  await client.publishAsync(deviceTopic(id, channel), JSON.stringify(body), { qos: 1 });
}

it('refuses a report, an event and telemetry stamped with an offset PostgreSQL cannot hold, and stores the next valid report', async () => {
  const device = await h.registerDevice();
  const id = device.deviceId;
  const client = await h.connectDevice(device);
  await uplinkHandled(h);
  const rejected = () => h.metric('flotilla_uplink_messages_dropped_total', { reason: 'rejected' });
  const before = await rejected();

  const now = Date.now();
  await publish(client, id, 'reported', report(1, withOffset(now, 16)));
  await publish(client, id, 'events', { schema: PROTOCOL_SCHEMA, at: withOffset(now, -23), kind: 'apply-started', message: 'far east' });
  const sample = { at: withOffset(now, 20), cpuPercent: 1, memUsedBytes: 1, memTotalBytes: 2, temperatureC: null };
  await publish(client, id, 'telemetry', { schema: PROTOCOL_SCHEMA, samples: [sample] });
  await uplinkHandled(h);
  expect((await rejected()) - before).toBe(3);
  expect(await storedRev(id)).toBeNull();

  await publish(client, id, 'reported', report(2, new Date().toISOString()));
  await uplinkHandled(h);
  await eventually(async () => (await storedRev(id)) === 2, 5000, 'the valid report stored');
  // Its later changes too: the stored `at` is one the next report's comparison can read.
  await publish(client, id, 'reported', report(3, withOffset(Date.now() + 1, 15)));
  await uplinkHandled(h);
  await eventually(async () => (await storedRev(id)) === 3, 5000, 'a later report stored');
  const [events] = await h.db.query<{ n: string }>(`SELECT count(*) AS n FROM device_events WHERE device_id = $1`, [id]);
  expect(Number(events!.n)).toBe(0);
  const [samples] = await h.db.query<{ n: string }>(`SELECT count(*) AS n FROM telemetry_samples WHERE device_id = $1`, [id]);
  expect(Number(samples!.n)).toBe(0);
}, 60_000);

it('a stored report whose `at` PostgreSQL cannot read (accepted before) is rewritten by the migration, then replaced by the next report', async () => {
  const device = await h.registerDevice();
  const id = device.deviceId;
  await h.db.query(`UPDATE devices SET reported = $2::jsonb WHERE id = $1`, [id, JSON.stringify(report(1, withOffset(Date.now(), 16)))]);
  await new LegacyReportOffsets1765280000000().up({ query: (sql: string) => h.db.query(sql) } as unknown as QueryRunner);
  const [stored] = await h.db.query<{ at: string; rev: number }>(
    `SELECT reported->>'at' AS at, (reported->>'rev')::int AS rev FROM devices WHERE id = $1`,
    [id],
  );
  expect(stored).toEqual({ at: '1970-01-01T00:00:00.000Z', rev: 1 });
  const client = await h.connectDevice(device);
  await publish(client, id, 'reported', report(2, new Date().toISOString()));
  await uplinkHandled(h);
  await eventually(async () => (await storedRev(id)) === 2, 5000, 'the report stored over the unreadable one');
}, 30_000);
