import { PROTOCOL_SCHEMA, deviceTopic } from '@flotilla/shared';
import { Aedes } from 'aedes';
import { AedesDeviceBroker, RELEASES_PER_TURN } from './aedes-device-broker';
import type { UplinkMessage } from './device-broker';
import type { MqttServer } from './mqtt-server';

/**
 * Integration (a real aedes, its real message queue): the uplink subscription hands every device
 * message to the domain, a burst far beyond aedes' 100 concurrent deliveries included, and
 * releases aedes' delivery slot without waiting for a turn of the event loop (with `setImmediate`
 * the second test fails).
 */
let broker: Aedes;
beforeEach(async () => {
  broker = await Aedes.createBroker();
});
afterEach(() => new Promise<void>((resolve) => broker.close(() => resolve())));

/** The device broker on `broker`; its listeners are not used on this path. */
function deviceBroker(): AedesDeviceBroker {
  const device = new AedesDeviceBroker(broker, {} as MqttServer);
  device.onModuleInit();
  return device;
}

const publish = (deviceId: string, i: number) =>
  new Promise<void>((resolve, reject) =>
    broker.publish(
      {
        cmd: 'publish',
        topic: deviceTopic(deviceId, 'desired/get'),
        payload: Buffer.from(JSON.stringify({ schema: PROTOCOL_SCHEMA, rev: i })),
        qos: 1,
        retain: false,
        dup: false,
      },
      (e) => (e ? reject(e) : resolve()),
    ),
  );

it('delivers every message of a burst of 20,000, queued beyond aedes concurrency', async () => {
  const seen: UplinkMessage[] = [];
  deviceBroker().onUplink(async (m) => void seen.push(m));
  await Promise.all(Array.from({ length: 20_000 }, (_, i) => publish(`dev_${i % 1000}`, i)));
  expect(seen).toHaveLength(20_000);
  expect(seen[19_999]).toMatchObject({ deviceId: 'dev_999', channel: 'desired/get' });
});

it('releases each message before the next turn of the event loop (a device waits for no timer phase)', async () => {
  deviceBroker().onUplink(async () => undefined);
  let turned = false;
  setImmediate(() => (turned = true));
  // 300 messages: three times aedes' concurrency, so the later ones wait for released slots.
  await Promise.all(Array.from({ length: 300 }, (_, i) => publish(`dev_${i}`, i)));
  expect(turned).toBe(false);
});

it('yields to the event loop within a long backlog (sockets are not held until 20,000 messages drain)', async () => {
  let delivered = 0;
  const deliveredAtTurns: number[] = [];
  deviceBroker().onUplink(async () => void delivered++);
  const turns = setInterval(() => deliveredAtTurns.push(delivered), 0);
  await Promise.all(Array.from({ length: 20_000 }, (_, i) => publish(`dev_${i % 1000}`, i)));
  clearInterval(turns);
  expect(delivered).toBe(20_000);
  // Timers ran while the backlog drained, never more than a turn's budget (plus aedes' 100 in flight) apart.
  const during = deliveredAtTurns.filter((n) => n > 0 && n < 20_000);
  expect(during.length).toBeGreaterThan(0);
  const steps = during.map((n, i) => n - (i === 0 ? 0 : during[i - 1]!));
  expect(Math.max(...steps)).toBeLessThanOrEqual(2 * (RELEASES_PER_TURN + 100));
});
