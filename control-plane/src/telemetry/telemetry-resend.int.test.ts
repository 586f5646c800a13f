import { deviceTopic, type Telemetry } from '@flotilla/shared';
import type { MqttClient } from 'mqtt';
import { eventually, startHarness, uplinkHandled, type Harness } from '../testing/harness';
import { TelemetryIngest } from './telemetry-ingest';

/**
 * Integration (real MQTT over TCP to the embedded broker, real PostgreSQL): a device's MQTT
 * client that resends a QoS 1 telemetry publish (as mqtt.js replays its unacknowledged ones
 * after a reconnect) delivers a new message with the same samples; each sample is stored once.
 */
jest.setTimeout(60_000);
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

// Within the clock window around the server's time (limits/clock-window.ts).
const base = Date.now() - 60_000;
const sample = (offsetS: number) => ({
  at: new Date(base + offsetS * 1000).toISOString(),
  cpuPercent: 10 + offsetS,
  memUsedBytes: 1_000_000,
  memTotalBytes: 8_000_000_000,
  temperatureC: 50,
});
const telemetry = (...offsets: number[]): Telemetry => ({ schema: 1, samples: offsets.map(sample) });
const send = (client: MqttClient, deviceId: string, body: Telemetry) =>
  client.publishAsync(deviceTopic(deviceId, 'telemetry'), JSON.stringify(body), { qos: 1 });
const rows = async (deviceId: string) =>
  (
    await h.db.query<{ at: Date; cpu_percent: number }>('SELECT at, cpu_percent FROM telemetry_samples WHERE device_id = $1 ORDER BY at', [
      deviceId,
    ])
  ).map((r) => [r.at.toISOString(), r.cpu_percent]);

/** Every message routed so far is handled and its samples written: what is in the table then is final. */
async function settled(deviceId: string, last: string): Promise<void> {
  await eventually(async () => (await rows(deviceId)).some(([at]) => at === last), 10_000, `sample ${last} stored`);
  await uplinkHandled(h);
  await h.cp.app.get(TelemetryIngest).flush();
}

describe('telemetry sent again over MQTT', () => {
  it('the same publish sent again, on the same connection and after a reconnect, is stored once', async () => {
    const device = await h.registerDevice();
    const duplicatesBefore = await h.metric('flotilla_telemetry_samples_total', { outcome: 'duplicate' });
    const first = await h.connectDevice(device);
    await send(first, device.deviceId, telemetry(0, 1));
    await send(first, device.deviceId, telemetry(0, 1));
    await first.endAsync();
    // A new connection (clean session), as after a broker node was lost: a new packet, the same payload.
    const again = await h.connectDevice(device);
    await send(again, device.deviceId, telemetry(0, 1));
    await send(again, device.deviceId, telemetry(2));
    await settled(device.deviceId, sample(2).at);
    expect(await rows(device.deviceId)).toEqual([0, 1, 2].map((s) => [sample(s).at, sample(s).cpuPercent]));
    expect((await h.metric('flotilla_telemetry_samples_total', { outcome: 'duplicate' })) - duplicatesBefore).toBe(4);
  });

  it('a batch that overlaps one already sent stores only its new samples', async () => {
    const device = await h.registerDevice();
    const client = await h.connectDevice(device);
    await send(client, device.deviceId, telemetry(0, 1, 2));
    await settled(device.deviceId, sample(2).at);
    await send(client, device.deviceId, telemetry(1, 2, 3, 4));
    await settled(device.deviceId, sample(4).at);
    expect(await rows(device.deviceId)).toEqual([0, 1, 2, 3, 4].map((s) => [sample(s).at, sample(s).cpuPercent]));
  });
});
