import { connect as tcpConnect } from 'node:net';
import { connect, connectAsync } from 'mqtt';
import { deviceTopic } from '@flotilla/shared';
import type { MqttClient } from 'mqtt';
import { eventually, startHarness, type Harness } from '../testing/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

function closed(client: MqttClient, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('client was not disconnected')), timeoutMs);
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function uplinkStats(): Promise<{ rateLimited: number; oversized: number }> {
  const dropped = (reason: string) => h.metric('flotilla_uplink_messages_dropped_total', { reason });
  return { rateLimited: await dropped('rateLimited'), oversized: await dropped('oversized') };
}

describe('broker authentication', () => {
  it('refuses anonymous connections and wrong passwords', async () => {
    const device = await h.registerDevice();
    const anonymous = { clientId: device.deviceId, protocolVersion: 4 as const, reconnectPeriod: 0, connectTimeout: 5000 };
    await expect(connectAsync(h.cp.mqttUrl, anonymous)).rejects.toMatchObject({ code: 4 });
    await expect(connectAsync(h.cp.mqttUrl, { ...anonymous, username: device.deviceId })).rejects.toMatchObject({ code: 4 });
    await expect(h.connectDevice({ ...device, password: 'wrong-password-0123456789' })).rejects.toMatchObject({ code: 4 });
  });
});

describe('broker ACL', () => {
  it("refuses subscribing to another device's topics and to #, and publishing on another device's topic", async () => {
    const [a, b] = [await h.registerDevice(), await h.registerDevice()];
    const client = await h.connectDevice(a);
    for (const filter of ['#', 'flotilla/v1/#', deviceTopic(b.deviceId, 'desired'), deviceTopic(b.deviceId, 'cmd')]) {
      await expect(client.subscribeAsync(filter, { qos: 1 })).rejects.toMatchObject({ packet: { granted: [128] } });
    }
    const gone = closed(client);
    void client.publishAsync(deviceTopic(b.deviceId, 'events'), '{}', { qos: 1 }).catch(() => undefined);
    await gone;
  });
});

describe('persistent sessions', () => {
  const setConfig = (deviceId: string, value: string) =>
    h.api(`/api/v1/devices/${deviceId}/config`, { method: 'PUT', body: JSON.stringify({ config: { SECRET: value } }) });

  it('deliver nothing but its own desired and cmd to a device that asked for more beside them, at its next connect', async () => {
    const [a, b] = [await h.registerDevice(), await h.registerDevice()];
    const options = { clientId: a.deviceId, username: a.deviceId, password: a.password, protocolVersion: 4 as const, reconnectPeriod: 0 };
    const first = await connectAsync(h.cp.mqttUrl, { ...options, clean: false });
    // One SUBSCRIBE: its own desired (granted) beside filters that reach other devices (refused).
    const subscribing = first.subscribeAsync({
      [deviceTopic(a.deviceId, 'desired')]: { qos: 1 },
      '#': { qos: 1 },
      'flotilla/v1/d/+/desired': { qos: 1 },
      [deviceTopic(b.deviceId, 'cmd')]: { qos: 1 },
    });
    await expect(subscribing).rejects.toMatchObject({ packet: { granted: [1, 128, 128, 128] } });
    await first.endAsync();
    // While it is away: another device's uplink, and that device's desired state (it is offline, so the broker's publish carries it).
    const other = await h.connectDevice(b);
    await other.publishAsync(deviceTopic(b.deviceId, 'events'), '{}', { qos: 1 });
    await other.endAsync();
    expect((await setConfig(b.deviceId, 'of-b')).status).toBe(200);
    // Listening before the CONNACK: a stored queue is written right behind it.
    const again = connect(h.cp.mqttUrl, { ...options, clean: false });
    const topics: string[] = [];
    const own = new Promise<void>((resolve) =>
      again.on('message', (topic) => {
        topics.push(topic);
        if (topic === deviceTopic(a.deviceId, 'desired')) resolve();
      }),
    );
    try {
      await new Promise((resolve, reject) => again.once('connect', resolve).once('error', reject));
      // Its own desired state comes after anything queued before it.
      expect((await setConfig(a.deviceId, 'of-a')).status).toBe(200);
      await own;
      expect(topics).toEqual([deviceTopic(a.deviceId, 'desired')]);
    } finally {
      await again.endAsync(true);
    }
  });
});

describe('broker rate limit', () => {
  it('drops and counts messages beyond the bucket, and disconnects a device that keeps flooding', async () => {
    const device = await h.registerDevice();
    const client = await h.connectDevice(device);
    const before = (await uplinkStats()).rateLimited;
    const topic = deviceTopic(device.deviceId, 'desired/get');
    const body = JSON.stringify({ schema: 1, rev: 1_000_000 });
    // The default bucket holds 200: 260 messages at once leave about 60 dropped.
    for (let i = 0; i < 260; i++) client.publish(topic, body, { qos: 0 });
    await eventually(async () => (await uplinkStats()).rateLimited - before >= 50, 10_000, 'messages counted as rate-limited');
    expect(client.connected).toBe(true);

    // Persistent flooding (more than 500 drops within 10 s) costs the connection.
    const gone = closed(client);
    for (let i = 0; i < 700; i++) client.publish(topic, body, { qos: 0 });
    await gone;
  });
});

describe('broker packet size limit', () => {
  it('closes a connection as soon as it announces a packet over the limit, without reading its body', async () => {
    const before = (await uplinkStats()).oversized;
    const url = new URL(h.cp.mqttUrl);
    const socket = tcpConnect(Number(url.port), url.hostname);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const closedSocket = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    // PUBLISH announcing 1 MiB (remaining length 0x80 0x80 0x40), body never sent.
    socket.write(Buffer.from([0x30, 0x80, 0x80, 0x40]));
    await closedSocket;
    expect((await uplinkStats()).oversized).toBe(before + 1);
  });
});
