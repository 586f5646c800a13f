import { SERVER_BUSY } from '@flotilla/shared';
import { DataSource } from 'typeorm';
import { DeviceLinkService } from '../devices/device-link.service';
import { eventually, startHarness, type Harness } from '../testing/harness';

/**
 * Integration: a real control plane, its PostgreSQL pool held busy, devices over MQTT/TCP. With
 * one device write allowed in the queue, the connect after it is answered "server busy" (CONNACK
 * 3, the code the agent's SERVER_BUSY delay applies to), and served again once the queue drained.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ limits: { busyQueuedWrites: 1, busyConnectsInFlight: 0 } });
}, 60_000);
afterAll(() => h?.close(), 30_000);

it('answers "server busy" while device writes are queued beyond the limit, and serves again once they are written', async () => {
  const [first, second] = [await h.registerDevice(), await h.registerDevice()];
  const link = h.cp.app.get(DeviceLinkService);
  // Every connection of the pool (10, DatabaseModule) sleeps: the first device's presence write waits in the queue.
  const pool = h.cp.app.get(DataSource);
  const held = Promise.all(Array.from({ length: 10 }, () => pool.query('SELECT pg_sleep(3)')));
  await h.connectDevice(first);
  await eventually(async () => link.queuedWrites >= 1, 10_000, 'the presence write queued');

  await expect(h.connectDevice(second)).rejects.toMatchObject({ code: SERVER_BUSY.connackReturnCode });
  expect(await h.metric('flotilla_mqtt_logins_refused_total', { reason: 'server-busy' })).toBe(1);

  await held;
  await eventually(async () => link.queuedWrites === 0, 20_000, 'the queue drained');
  await h.connectDevice(second);
  // Not counted against the address as a failed login: nothing throttles it afterwards.
  await expect(h.metric('flotilla_mqtt_logins_refused_total', { reason: 'throttled' })).rejects.toThrow(/no sample/);
}, 60_000);
