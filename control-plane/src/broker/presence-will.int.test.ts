import { execFileSync } from 'node:child_process';
import type { Socket } from 'node:net';
import { deviceTopic } from '@flotilla/shared';
import type { Aedes } from 'aedes';
import { eventually, startHarness, uplinkHandled, type Harness } from '../testing/harness';
import { AEDES, IDLE_PROBE_MS } from './mqtt-server';

/**
 * Integration (real broker over TCP, real PostgreSQL): a device's own `online` (here its last will,
 * which the broker publishes after the connection closed, so after the disconnect was handled)
 * does not mark a device online that has no live session; a connection that asked for no MQTT
 * keepalive is still probed by the kernel, so a device gone silent does not stay online.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
}, 60_000);
afterAll(() => h?.close(), 30_000);

async function online(id: string): Promise<boolean> {
  const [r] = await h.db.query<{ online: boolean }>('SELECT online FROM devices WHERE id = $1', [id]);
  return r!.online;
}

it('a will saying online, delivered after the connection dropped, leaves the device offline', async () => {
  const devices = await Promise.all(Array.from({ length: 10 }, () => h.registerDevice()));
  const ids = new Set(devices.map((d) => d.deviceId));
  const clients = await Promise.all(
    devices.map((d) =>
      h.connectDevice(d, {
        will: { topic: deviceTopic(d.deviceId, 'status'), payload: Buffer.from('{"schema":1,"status":"online"}'), qos: 1, retain: false },
      }),
    ),
  );
  for (const d of devices) await eventually(() => online(d.deviceId), 5000, 'online while connected');

  // Every will published by the broker: counted where the control plane's uplink sees them.
  const wills = new Set<string>();
  const onPublish = (packet: { topic: string }): void => {
    const id = [...ids].find((i) => packet.topic === deviceTopic(i, 'status'));
    if (id) wills.add(id);
  };
  const broker = h.cp.app.get<symbol, Aedes>(AEDES);
  broker.on('publish', onPublish);
  for (const c of clients) c.stream.destroy();
  await eventually(async () => wills.size === devices.length, 5000, 'every will published');
  broker.off('publish', onPublish);
  await uplinkHandled(h);

  const stillOnline = [];
  for (const d of devices) if (await online(d.deviceId)) stillOnline.push(d.deviceId);
  expect(stillOnline).toEqual([]);
}, 30_000);

it("probes a device's connection when idle, whatever keepalive it asked for (0: none)", async () => {
  const device = await h.registerDevice();
  const client = await h.connectDevice(device, { keepalive: 0 });
  await eventually(() => online(device.deviceId), 5000, 'online while connected');
  const port = new URL(h.cp.mqttUrl).port;
  const local = (client.stream as Socket).localPort;
  // The broker's end of this connection, as the kernel lists it: its keepalive timer runs.
  const [line] = execFileSync('ss', ['-tnoH', 'state', 'established', `( sport = :${port} and dport = :${local} )`])
    .toString()
    .trim()
    .split('\n');
  expect(line).toMatch(/timer:\(keepalive,(\d+)sec,0\)/);
  expect(Number(/keepalive,(\d+)sec/.exec(line!)![1])).toBeLessThanOrEqual(IDLE_PROBE_MS / 1000);
  await client.endAsync();
});
