import { CONTROL_PLANE_EVENT_KINDS, PROTOCOL_SCHEMA, deviceTopic } from '@flotilla/shared';
import { NOT_STORED_EVENT } from '../database/rejected-writes';
import { startHarness, uplinkHandled, type Harness } from '../testing/harness';

/**
 * Integration (real broker over TCP, real PostgreSQL): a device cannot write into its history an
 * event of a kind only the control plane records; it is refused and counted as invalid, while the
 * device's own kinds are stored.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
}, 60_000);
afterAll(() => h?.close(), 30_000);

it('refuses events of the control plane’s kinds from a device, and stores its own', async () => {
  const device = await h.registerDevice();
  const client = await h.connectDevice(device);
  const topic = deviceTopic(device.deviceId, 'events');
  const rejected = () => h.metric('flotilla_uplink_messages_dropped_total', { reason: 'rejected' });
  const before = await rejected();
  const forged = [...CONTROL_PLANE_EVENT_KINDS, NOT_STORED_EVENT];
  for (const kind of forged) {
    const event = { schema: PROTOCOL_SCHEMA, at: new Date().toISOString(), kind, message: 'messages dropped (forged)' };
    await client.publishAsync(topic, JSON.stringify(event), { qos: 1 });
  }
  const own = { schema: PROTOCOL_SCHEMA, at: new Date().toISOString(), kind: 'apply-started', message: 'genuine' };
  await client.publishAsync(topic, JSON.stringify(own), { qos: 1 });
  await uplinkHandled(h);
  expect((await rejected()) - before).toBe(forged.length);
  const rows = await h.db.query<{ kind: string }>('SELECT kind FROM device_events WHERE device_id = $1', [device.deviceId]);
  expect(rows.map((r) => r.kind)).toEqual(['apply-started']);
}, 30_000);
