import { deviceTopic } from '@flotilla/shared';
import type { MqttClient } from 'mqtt';
import { startHarness, uplinkHandled, type Harness } from '../testing/harness';
import { DEVICE_BROKER, type DeviceBroker } from './device-broker';

/**
 * Integration (real broker over TCP, real PostgreSQL): what a device sends past its rate or its
 * channel's quota reaches no listener, the broadcast ones (command results, which every replica
 * parses) included; and reconnecting does not give a device its spent allowance back.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
}, 60_000);
afterAll(() => h?.close(), 30_000);

/** Publishes every payload at QoS 1 and waits for all PUBACKs: the broker has then passed each through its gate, in order. */
async function flood(client: MqttClient, topic: string, payloads: string[]): Promise<void> {
  await Promise.all(payloads.map((p) => client.publishAsync(topic, p, { qos: 1 })));
}

it('command results over their quota reach no broadcast listener, deeply nested ones included', async () => {
  const device = await h.registerDevice();
  const seen: number[] = [];
  h.cp.app.get<symbol, DeviceBroker>(DEVICE_BROKER).onBroadcast('cmd/res', (m) => {
    if (m.deviceId === device.deviceId) seen.push(m.payload.length);
  });
  const client = await h.connectDevice(device);
  const dropped = () => h.metric('flotilla_uplink_quota_dropped_total', { channel: 'cmd/res', limit: 'messages' });
  const before = await dropped().catch(() => 0);
  const deep = '['.repeat(10_000) + ']'.repeat(10_000);
  await flood(
    client,
    deviceTopic(device.deviceId, 'cmd/res'),
    Array.from({ length: 100 }, () => deep),
  );
  await uplinkHandled(h);
  // The quota is 60 a minute (control-plane/src/limits/device-limits.ts), refilling one a second.
  expect(seen.length).toBeGreaterThanOrEqual(60);
  expect(seen.length).toBeLessThanOrEqual(62);
  expect((await dropped()) - before).toBe(100 - seen.length);
}, 30_000);

it('a device over its rate does not get a fresh burst by reconnecting', async () => {
  const device = await h.registerDevice();
  const topic = deviceTopic(device.deviceId, 'events');
  const rateLimited = () => h.metric('flotilla_uplink_messages_dropped_total', { reason: 'rateLimited' });
  // Invalid events (refused unparsed or by the schema, stored never): only the rate is measured.
  const burst = (n: number) => Array.from({ length: n }, () => '{}');
  let client = await h.connectDevice(device);
  const before = await rateLimited();
  await flood(client, topic, burst(250));
  const first = (await rateLimited()) - before;
  expect(first).toBeGreaterThan(0);
  await client.endAsync();
  client = await h.connectDevice(device);
  await flood(client, topic, burst(100));
  await uplinkHandled(h);
  // At 20 a second, the bucket refilled by a few tokens during the reconnect, not by its burst of 200.
  expect((await rateLimited()) - before - first).toBeGreaterThan(50);
}, 30_000);
