import { SERVER_BUSY } from '@flotilla/shared';
import { DeviceLinkService } from '../devices/device-link.service';
import { eventually, startHarness, type Harness } from '../testing/harness';

/**
 * Integration: a real control plane, its PostgreSQL pool held busy, devices over MQTT/TCP. With
 * one device write allowed in the queue, the connect after it is answered "server busy" (CONNACK
 * 3, the code the agent's SERVER_BUSY delay applies to), and served again once the queue drained.
 * With the count off and a write lag allowed instead, the same happens once the queued write has
 * waited that long, and not before.
 */
let h: Harness;
afterEach(() => h?.close(), 30_000);

it('answers "server busy" while device writes are queued beyond the limit, and serves again once they are written', async () => {
  h = await startHarness({ limits: { busyQueuedWrites: 1, busyConnectsInFlight: 0, busyWriteLagMs: 0 } });
  const [first, second] = [await h.registerDevice(), await h.registerDevice()];
  const link = h.cp.app.get(DeviceLinkService);
  // Every connection of the pool is held: the first device's presence write waits in the queue.
  const pool = await h.holdPool();
  await h.connectDevice(first);
  await eventually(async () => link.queuedWrites >= 1, 10_000, 'the presence write queued');

  await expect(h.connectDevice(second)).rejects.toMatchObject({ code: SERVER_BUSY.connackReturnCode });

  // Released before reading /metrics, which waits for a connection of the pool too.
  await pool.release();
  expect(await h.metric('flotilla_mqtt_logins_refused_total', { reason: 'server-busy' })).toBe(1);
  await eventually(async () => link.queuedWrites === 0, 20_000, 'the queue drained');
  await h.connectDevice(second);
  // Not counted against the address as a failed login: nothing throttles it afterwards.
  await expect(h.metric('flotilla_mqtt_logins_refused_total', { reason: 'throttled' })).rejects.toThrow(/no sample/);
}, 60_000);

it('answers "server busy" once the oldest queued device write has waited the allowed lag, not while it is younger', async () => {
  h = await startHarness({ limits: { busyQueuedWrites: 0, busyConnectsInFlight: 0, busyWriteLagMs: 3000 } });
  const [first, second, third] = [await h.registerDevice(), await h.registerDevice(), await h.registerDevice()];
  const link = h.cp.app.get(DeviceLinkService);
  const pool = await h.holdPool();
  await h.connectDevice(first);
  await eventually(async () => link.queuedWrites >= 1, 10_000, 'the presence write queued');
  // Queued, but younger than the lag: served (its own writes queue behind the first).
  expect(link.writeLagMs).toBeLessThan(3000);
  await h.connectDevice(second);
  await eventually(async () => link.writeLagMs >= 3000, 10_000, 'the queued write 3 s old');
  await expect(h.connectDevice(third)).rejects.toMatchObject({ code: SERVER_BUSY.connackReturnCode });

  await pool.release();
  expect(await h.metric('flotilla_mqtt_logins_refused_total', { reason: 'server-busy' })).toBe(1);
  await eventually(async () => link.writeLagMs === 0, 20_000, 'the queue drained');
  await h.connectDevice(third);
}, 60_000);
