import { PROTOCOL_SCHEMA, deviceTopic, type Reported, type Telemetry } from '@flotilla/shared';
import { eventually, startHarness, uplinkHandled, type Harness } from '../testing/harness';
import { metricValue } from '../testing/metrics';
import { TelemetryIngest } from '../telemetry/telemetry-ingest';

/**
 * Integration (real PostgreSQL made read-only for real, real MQTT and HTTP): a database that
 * refuses every write is told apart from a bad row and from a transient fault. The API answers
 * 503 `database_read_only` and keeps serving reads; a device's telemetry batch is dropped whole
 * and counted by reason, not bisected row by row and told to each device as its own fault; once
 * the database takes writes again the control plane writes again by itself.
 */
jest.setTimeout(60_000);
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

/** Sessions opened from now on are read-only (or writable again); the open ones are ended, and the pool opens new ones. */
async function readOnly(on: boolean): Promise<void> {
  await h.db.admin(`ALTER DATABASE ${h.db.name} ${on ? 'SET default_transaction_read_only = on' : 'RESET default_transaction_read_only'}`);
  await h.db.admin('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [h.db.name]);
}

const base = Date.now() - 60_000;
const telemetry = (count: number, from: number): Telemetry => ({
  schema: 1,
  samples: Array.from({ length: count }, (_, i) => ({
    at: new Date(base + (from + i) * 1000).toISOString(),
    cpuPercent: 10,
    memUsedBytes: 1_000_000,
    memTotalBytes: 8_000_000_000,
    temperatureC: 50,
  })),
});

describe('a database that refuses writes', () => {
  it('answers writes 503 database_read_only, serves reads, drops telemetry whole and counted, and recovers by itself', async () => {
    const device = await h.registerDevice();
    const client = await h.connectDevice(device);
    const stored = async (n: number) =>
      (await h.db.query('SELECT 1 FROM telemetry_samples WHERE device_id = $1', [device.deviceId])).length === n;
    // One sample first, so that the writer holds reserved ids and the refusal comes from the batch's own write.
    await client.publishAsync(deviceTopic(device.deviceId, 'telemetry'), JSON.stringify(telemetry(1, 200)), { qos: 1 });
    await eventually(() => stored(1), 10_000, 'the first sample stored');
    await readOnly(true);
    try {
      const created = await h.api('/api/v1/fleets', { method: 'POST', body: JSON.stringify({ name: 'while-read-only' }) });
      expect(created.status).toBe(503);
      expect(created.headers.get('retry-after')).toBe('2');
      expect(await created.json()).toMatchObject({ code: 'database_read_only' });
      expect((await h.api('/api/v1/fleets')).status).toBe(200);

      await client.publishAsync(deviceTopic(device.deviceId, 'telemetry'), JSON.stringify(telemetry(50, 0)), { qos: 1 });
      const refused = { kind: 'telemetry', reason: 'read_only' };
      await eventually(
        async () => (await h.metric('flotilla_device_rows_refused_total', refused).catch(() => 0)) === 50,
        10_000,
        '50 samples refused',
      );
      // Before: each of the 50 rows was tried alone, dropped as its own fault and counted against the device.
      const metrics = await (await h.api('/metrics')).text();
      expect(metricValue(metrics, 'flotilla_device_rows_rejected_total', { device: device.deviceId, kind: 'telemetry' })).toBe(0);
    } finally {
      await readOnly(false);
    }
    const again = await h.api('/api/v1/fleets', { method: 'POST', body: JSON.stringify({ name: 'after-read-only' }) });
    expect(again.status).toBe(201);
    await client.publishAsync(deviceTopic(device.deviceId, 'telemetry'), JSON.stringify(telemetry(1, 100)), { qos: 1 });
    await eventually(() => stored(2), 10_000, 'a sample stored after the database took writes again');
    await h.cp.app.get(TelemetryIngest).flush();
  });

  it('writes a report refused while read-only when the device sends it again, not skipped as already stored', async () => {
    const device = await h.registerDevice();
    const client = await h.connectDevice(device);
    const report: Reported = {
      schema: PROTOCOL_SCHEMA,
      at: new Date().toISOString(),
      agentVersion: '0.1.0',
      rev: 7,
      update: { phase: 'idle', active: null, candidate: null, failedRev: null, lastFailure: null },
      components: [],
    };
    const send = async () => {
      await client.publishAsync(deviceTopic(device.deviceId, 'reported'), JSON.stringify(report), { qos: 1 });
      await uplinkHandled(h);
    };
    const storedRev = async () =>
      (await h.db.query<{ rev: number | null }>(`SELECT (reported->>'rev')::int AS rev FROM devices WHERE id = $1`, [device.deviceId]))[0]!
        .rev;
    const refused = { kind: 'reported', reason: 'read_only' };
    const before = await h.metric('flotilla_device_rows_refused_total', refused).catch(() => 0);
    await readOnly(true);
    try {
      await send();
      await eventually(
        async () => (await h.metric('flotilla_device_rows_refused_total', refused).catch(() => 0)) === before + 1,
        10_000,
        'the report refused',
      );
    } finally {
      await readOnly(false);
    }
    expect(await storedRev()).toBeNull();
    // The same report on the same connection: before, it was skipped in memory as the one last stored.
    await send();
    await eventually(async () => (await storedRev()) === 7, 10_000, 'the report stored once the database took writes again');
  });
});
