import {
  PROTOCOL_SCHEMA,
  deviceTopic,
  type DeviceView,
  type Inventory,
  type RegisterDeviceResponse,
  type ReleaseView,
  type Reported,
} from '@flotilla/shared';
import type { Aedes } from 'aedes';
import type { MqttClient } from 'mqtt';
import { eventually, messagesBefore, nextMessage, startHarness, uplinkHandled, type Harness } from '../testing/harness';
import { AEDES } from './mqtt-server';
import { openDesired } from '../testing/desired';

const manifest = (version: string) => `
name: origin
x-flotilla: { version: ${version} }
services:
  web:
    image: 127.0.0.1:5000/flotilla/busybox@sha256:${'b'.repeat(64)}
    command: httpd -f -p 8080
`;

const reported: Reported = {
  schema: PROTOCOL_SCHEMA,
  at: '2026-11-27T12:00:00.000Z',
  agentVersion: '0.1.0',
  rev: 1,
  update: { phase: 'idle', active: null, candidate: null, failedRev: null, lastFailure: null },
  components: [{ name: 'web', image: 'busybox', state: 'running', health: 'healthy' }],
};

const inventory: Inventory = {
  schema: PROTOCOL_SCHEMA,
  at: '2026-11-27T12:00:00.000Z',
  hostname: 'pi-kitchen',
  arch: 'arm64',
  board: { model: 'Raspberry Pi 5 Model B Rev 1.0', serial: '10000000abcdef' },
  cpu: { manufacturer: 'ARM', brand: 'Cortex-A76', cores: 4 },
  memory: { totalBytes: 8_000_000_000 },
  os: { distro: 'Debian', release: '12', kernel: '6.6.31' },
  disks: [{ mount: '/', fs: 'ext4', sizeBytes: 32e9, usedBytes: 4e9 }],
  network: [{ iface: 'eth0', mac: 'd8:3a:dd:00:00:01', ip4: '192.168.1.20' }],
  temperatures: [{ zone: 'cpu', celsius: 48.5 }],
};

let h: Harness;
let release: ReleaseView;
beforeAll(async () => {
  h = await startHarness();
  release = (await (
    await h.api('/api/v1/releases', { method: 'POST', body: manifest('1.0.0'), headers: { 'content-type': 'application/yaml' } })
  ).json()) as ReleaseView;
});
afterAll(() => h?.close());

async function getDevice(id: string): Promise<DeviceView> {
  return (await (await h.api(`/api/v1/devices/${id}`)).json()) as DeviceView;
}

/** Resolves when the broker has routed a message on `topic` to its subscribers (the control plane's uplink among them). */
function published(topic: string): Promise<void> {
  const broker = h.cp.app.get<symbol, Aedes>(AEDES);
  return new Promise((resolve) => {
    const onPublish = (packet: { topic: string }): void => {
      if (packet.topic !== topic) return;
      broker.off('publish', onPublish);
      resolve();
    };
    broker.on('publish', onPublish);
  });
}

function closed(client: MqttClient, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('client was not disconnected')), timeoutMs);
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function publish(
  client: MqttClient,
  device: RegisterDeviceResponse,
  channel: Parameters<typeof deviceTopic>[1],
  body: unknown,
  qos: 0 | 1 = 1,
): Promise<unknown> {
  return client.publishAsync(deviceTopic(device.deviceId, channel), typeof body === 'string' ? body : JSON.stringify(body), { qos });
}

async function assign(deviceId: string, releaseId: string): Promise<Response> {
  return h.api(`/api/v1/devices/${deviceId}/release`, { method: 'PUT', body: JSON.stringify({ releaseId }) });
}

describe('broker access control', () => {
  it("disconnects a device that publishes to another device's topic", async () => {
    const [me, other] = [await h.registerDevice(), await h.registerDevice()];
    const client = await h.connectDevice(me);
    const gone = closed(client);
    void client.publishAsync(deviceTopic(other.deviceId, 'reported'), JSON.stringify(reported), { qos: 1 }).catch(() => undefined);
    await gone;
    expect((await getDevice(other.deviceId)).reported).toBeNull();
  });

  it('disconnects a device that publishes a retained message', async () => {
    const me = await h.registerDevice();
    const client = await h.connectDevice(me);
    const gone = closed(client);
    void client
      .publishAsync(deviceTopic(me.deviceId, 'reported'), JSON.stringify(reported), { qos: 1, retain: true })
      .catch(() => undefined);
    await gone;
    expect((await getDevice(me.deviceId)).reported).toBeNull();
  });

  it("answers SUBACK 128 for another device's desired topic and keeps the client", async () => {
    const [me, other] = [await h.registerDevice(), await h.registerDevice()];
    const client = await h.connectDevice(me);
    // mqtt.js turns a SUBACK return code of 0x80 into a rejection that carries the packet.
    await expect(client.subscribeAsync(deviceTopic(other.deviceId, 'desired'), { qos: 1 })).rejects.toMatchObject({
      packet: { granted: [128] },
    });
    await expect(client.subscribeAsync('flotilla/v1/d/+/desired', { qos: 1 })).rejects.toMatchObject({ packet: { granted: [128] } });
    const own = await client.subscribeAsync(deviceTopic(me.deviceId, 'desired'), { qos: 1 });
    expect(own[0]?.qos).toBe(1);
    expect(client.connected).toBe(true);
  });
});

describe('desired state', () => {
  it('sends desired (QoS 1, not retained) as soon as a release is assigned', async () => {
    const device = await h.registerDevice();
    const client = await h.connectDevice(device);
    await client.subscribeAsync(deviceTopic(device.deviceId, 'desired'), { qos: 1 });
    const arriving = nextMessage(client, deviceTopic(device.deviceId, 'desired'));

    const res = await assign(device.deviceId, release.id);
    expect(res.status).toBe(200);
    expect(((await res.json()) as DeviceView).desired).toEqual({ rev: 1, releaseId: release.id });

    const message = await arriving;
    expect(message.qos).toBe(1);
    expect(message.retain).toBe(false);
    const desired = openDesired(message.payload, device.releaseKeys);
    expect(desired).toMatchObject({
      schema: 1,
      deviceId: device.deviceId,
      rev: 1,
      release: { id: release.id, digest: release.digest, assembly: release.assembly, signature: release.signature },
      releaseCreatedAt: release.createdAt,
      rollback: false,
      config: {},
    });
    expect(Date.parse(desired.expiresAt)).toBeGreaterThan(Date.parse(desired.issuedAt));
  });

  it('answers desired/get after a reconnect only when the device holds an older rev', async () => {
    const device = await h.registerDevice();
    expect((await assign(device.deviceId, release.id)).status).toBe(200);
    expect((await assign(device.deviceId, release.id)).status).toBe(200);

    const client = await h.connectDevice(device);
    const topic = deviceTopic(device.deviceId, 'desired');
    await client.subscribeAsync(topic, { qos: 1 });
    const arriving = nextMessage(client, topic);
    await publish(client, device, 'desired/get', { schema: 1, rev: 1 });
    expect(openDesired((await arriving).payload, device.releaseKeys).rev).toBe(2);

    // Up to date: no answer. Once that request is handled, a new assignment (rev 3) is the
    // sentinel: an answer to it would have reached the client first.
    const quiet = messagesBefore(client, topic, (p) => openDesired(p, device.releaseKeys).rev === 3);
    await publish(client, device, 'desired/get', { schema: 1, rev: 2 });
    await uplinkHandled(h);
    expect((await assign(device.deviceId, release.id)).status).toBe(200);
    expect(await quiet).toEqual([]);
  });

  it('gives concurrent assignments distinct, growing revs', async () => {
    const device = await h.registerDevice();
    const results = await Promise.all(Array.from({ length: 8 }, () => assign(device.deviceId, release.id)));
    const revs = await Promise.all(results.map(async (r) => ((await r.json()) as DeviceView).desired.rev));
    expect(revs.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect((await getDevice(device.deviceId)).desired.rev).toBe(8);
  });

  it('answers 404 for an unknown device or release, 400 for a malformed body', async () => {
    const device = await h.registerDevice();
    expect((await assign('dev_nosuchdevice', release.id)).status).toBe(404);
    const noRelease = await assign(device.deviceId, '00000000-0000-4000-8000-000000000000');
    expect(noRelease.status).toBe(404);
    expect(await noRelease.json()).toMatchObject({ code: 'release_not_found' });
    const bad = await h.api(`/api/v1/devices/${device.deviceId}/release`, { method: 'PUT', body: JSON.stringify({ releaseId: 'x' }) });
    expect(bad.status).toBe(400);
    expect((await getDevice(device.deviceId)).desired).toEqual({ rev: 0, releaseId: null });
  });
});

describe('uplink', () => {
  it('stores reported and inventory, visible through GET /devices/:id', async () => {
    const device = await h.registerDevice();
    const client = await h.connectDevice(device);
    await publish(client, device, 'reported', reported);
    await publish(client, device, 'inventory', inventory);
    await eventually(async () => (await getDevice(device.deviceId)).inventory !== null, 5000, 'inventory stored');
    const view = await getDevice(device.deviceId);
    expect(view.reported).toEqual(reported);
    expect(view.updatePhase).toBe('idle');
    expect(view.inventory).toEqual(inventory);
    expect(view.lastSeenAt).not.toBeNull();
  });

  it('stores events and telemetry samples', async () => {
    // Within the clock window around the server's time (limits/clock-window.ts).
    const base = Date.now() - 60_000;
    const at = (offsetS: number): string => new Date(base + offsetS * 1000).toISOString();
    const device = await h.registerDevice();
    const client = await h.connectDevice(device);
    await publish(client, device, 'events', {
      schema: 1,
      at: at(1),
      kind: 'apply-failed',
      rev: 3,
      message: 'image missing',
    });
    await publish(
      client,
      device,
      'telemetry',
      {
        schema: 1,
        samples: [
          { at: at(0), cpuPercent: 12.5, memUsedBytes: 1_000_000, memTotalBytes: 8_000_000_000, temperatureC: 51 },
          { at: at(10), cpuPercent: 7, memUsedBytes: 1_100_000, memTotalBytes: 8_000_000_000 },
        ],
      },
      0,
    );
    await eventually(
      async () => (await h.db.query('SELECT 1 FROM telemetry_samples WHERE device_id = $1', [device.deviceId])).length === 2,
      5000,
      'telemetry stored',
    );
    const events = await h.db.query('SELECT kind, rev, message FROM device_events WHERE device_id = $1', [device.deviceId]);
    expect(events).toEqual([{ kind: 'apply-failed', rev: 3, message: 'image missing' }]);
    expect((await getDevice(device.deviceId)).lastEvent).toEqual({
      at: at(1),
      kind: 'apply-failed',
      rev: 3,
      message: 'image missing',
    });
    const samples = await h.db.query('SELECT cpu_percent, temperature_c FROM telemetry_samples WHERE device_id = $1 ORDER BY at', [
      device.deviceId,
    ]);
    expect(samples).toEqual([
      { cpu_percent: 12.5, temperature_c: 51 },
      { cpu_percent: 7, temperature_c: null },
    ]);
  });

  it('logs, counts and drops malformed payloads, and keeps serving the device', async () => {
    const device = await h.registerDevice();
    const client = await h.connectDevice(device);
    const before = await h.metric('flotilla_uplink_messages_dropped_total', { reason: 'rejected' });
    await publish(client, device, 'reported', 'this is not json');
    await publish(client, device, 'reported', { schema: 1, update: { phase: 'dancing' } });
    await publish(client, device, 'inventory', { schema: 2 });
    expect(client.connected).toBe(true);

    await publish(client, device, 'reported', reported);
    await eventually(async () => (await getDevice(device.deviceId)).reported !== null, 5000, 'valid report after invalid ones');
    const after = await h.metric('flotilla_uplink_messages_dropped_total', { reason: 'rejected' });
    expect(after - before).toBe(3);
    expect((await getDevice(device.deviceId)).inventory).toBeNull();
  });
});

describe('presence', () => {
  it('is online while connected and offline after a clean or an abrupt disconnect', async () => {
    const device = await h.registerDevice();
    const online = async () => (await getDevice(device.deviceId)).online;

    const client = await h.connectDevice(device);
    await eventually(online, 5000, 'online');
    await client.endAsync();
    await eventually(async () => !(await online()), 5000, 'offline after DISCONNECT');

    const again = await h.connectDevice(device);
    await eventually(online, 5000, 'online again');
    again.stream.destroy();
    await eventually(async () => !(await online()), 5000, 'offline after the connection dropped');
    expect((await getDevice(device.deviceId)).lastSeenAt).not.toBeNull();
  });

  it('stays online when a new connection of the same device takes over the old one', async () => {
    const device = await h.registerDevice();
    const first = await h.connectDevice(device, {
      will: {
        topic: deviceTopic(device.deviceId, 'status'),
        payload: Buffer.from(JSON.stringify({ schema: 1, status: 'offline' })),
        qos: 1,
        retain: false,
      },
    });
    const firstClosed = closed(first);
    // The old connection's will is what would mark the device offline: wait until it is routed and handled.
    const willRouted = published(deviceTopic(device.deviceId, 'status'));
    await h.connectDevice(device);
    await firstClosed;
    await willRouted;
    await uplinkHandled(h);
    expect((await getDevice(device.deviceId)).online).toBe(true);
    expect(await h.metric('flotilla_devices_online')).toBeGreaterThanOrEqual(1);
  });
});
