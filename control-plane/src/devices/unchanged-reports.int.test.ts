import { PROTOCOL_SCHEMA, deviceTopic, type Reported } from '@flotilla/shared';
import type { MqttClient } from 'mqtt';
import { eventually, startHarness, uplinkHandled, type Harness } from '../testing/harness';
import { DeviceReportRepository } from './device-report.repository';

/**
 * Integration (real PostgreSQL, MQTT over TCP): a report that says what the stored one says,
 * but for its time, writes no row. "No write" is read from the row's version (`xmin` changes
 * with every UPDATE that touches the row) after the barrier that every message was handled.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
}, 60_000);
afterAll(() => h?.close(), 30_000);

const report = (rev: number, at: string): Reported => ({
  schema: PROTOCOL_SCHEMA,
  at,
  agentVersion: '0.1.0',
  rev,
  update: { phase: 'idle', active: null, candidate: null, failedRev: null, lastFailure: null },
  components: [{ name: 'web', image: 'busybox', state: 'running', health: 'healthy' }],
});

async function row(id: string): Promise<{ version: string; rev: number | null; online: boolean }> {
  const [r] = await h.db.query<{ version: string; rev: number | null; online: boolean }>(
    `SELECT xmin::text AS version, (reported->>'rev')::int AS rev, online FROM devices WHERE id = $1`,
    [id],
  );
  return r!;
}

async function send(client: MqttClient, id: string, reports: Reported[]): Promise<void> {
  for (const r of reports) await client.publishAsync(deviceTopic(id, 'reported'), JSON.stringify(r), { qos: 1 });
  await uplinkHandled(h);
}

it('writes no row for a burst of unchanged reports, in memory while connected and in the database after a reconnect', async () => {
  const device = await h.registerDevice();
  const repository = h.cp.app.get(DeviceReportRepository);
  let client = await h.connectDevice(device);
  await send(client, device.deviceId, [report(1, new Date().toISOString())]);
  const stored = await row(device.deviceId);
  expect(stored.rev).toBe(1);

  const skippedBefore = repository.reportsSkipped;
  const burst = Array.from({ length: 50 }, (_, i) => report(1, new Date(Date.now() + i).toISOString()));
  await send(client, device.deviceId, burst);
  expect((await row(device.deviceId)).version).toBe(stored.version);
  expect(repository.reportsSkipped - skippedBefore).toBe(50);

  // A new connection forgets what was stored; the same report then reaches the database, which leaves the row alone.
  await client.endAsync();
  await eventually(async () => !(await row(device.deviceId)).online, 5000, 'the device offline');
  client = await h.connectDevice(device);
  await uplinkHandled(h);
  await eventually(async () => (await row(device.deviceId)).online, 5000, 'the device online');
  const reconnected = await row(device.deviceId);
  await send(client, device.deviceId, [report(1, new Date().toISOString())]);
  expect(repository.reportsSkipped - skippedBefore).toBe(50);
  expect((await row(device.deviceId)).version).toBe(reconnected.version);

  // What does change is written (the same measure sees a write).
  await send(client, device.deviceId, [report(2, new Date().toISOString())]);
  const changed = await row(device.deviceId);
  expect(changed.rev).toBe(2);
  expect(changed.version).not.toBe(reconnected.version);
}, 60_000);
