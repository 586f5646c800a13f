import { connect as tcpConnect, type Socket } from 'node:net';
import type { Writable } from 'node:stream';
import {
  deviceTopic,
  type FleetTargetJobView,
  type FleetView,
  type RegisterDeviceResponse,
  type ReleaseView,
  type SetFleetTargetResponse,
} from '@flotilla/shared';
import type { Aedes } from 'aedes';
import type { MqttClient } from 'mqtt';
import { eventually, startHarness, type Harness } from '../testing/harness';
import { openDesired } from '../testing/desired';
import { manifest } from '../testing/sim-fleet';
import { AEDES } from './mqtt-server';
import { clientOf } from './sessions';

/**
 * Integration (whole control plane, real MQTT over TCP, real PostgreSQL): a fleet target's fan-out
 * seals each device its own signed desired state from the shared parts, and a device that stopped
 * reading (its socket backed up) does not hold back the others.
 */
jest.setTimeout(90_000);

const DEVICES = 12;
let h: Harness;

beforeAll(async () => {
  // No bound on the slow device's unacknowledged messages, so that they back up its socket rather
  // than being dropped. The server's stall cut (a minute) stays far off: the device leaves by itself.
  h = await startHarness({ limits: { maxQueuedPerDevice: 0 } });
});
afterAll(() => h?.close());

async function call<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
  const res = await h.api(path, {
    method,
    ...(body !== undefined
      ? { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': contentType } }
      : {}),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

const str = (s: string): Buffer => Buffer.concat([Buffer.from([Buffer.byteLength(s) >> 8, Buffer.byteLength(s) & 0xff]), Buffer.from(s)]);
function packet(firstByte: number, body: Buffer): Buffer {
  const length: number[] = [];
  let n = body.length;
  do {
    length.push((n % 128) | (n >= 128 ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  return Buffer.concat([Buffer.from([firstByte, ...length]), body]);
}

/** A device that subscribes to its desired topic, then stops reading its socket. */
async function stalledDevice(port: number, device: RegisterDeviceResponse & { password: string }): Promise<Socket> {
  const socket = tcpConnect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const header = Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 60])]);
  socket.write(packet(0x10, Buffer.concat([header, str(device.deviceId), str(device.deviceId), str(device.password)])));
  socket.write(packet(0x82, Buffer.concat([Buffer.from([0, 1]), str(deviceTopic(device.deviceId, 'desired')), Buffer.from([1])])));
  // CONNACK (4 bytes) then SUBACK (5 bytes).
  let seen = Buffer.alloc(0);
  await new Promise<void>((resolve) => {
    const onData = (chunk: Buffer): void => {
      seen = Buffer.concat([seen, chunk]);
      if (seen.length >= 9) {
        socket.off('data', onData);
        resolve();
      }
    };
    socket.on('data', onData);
  });
  socket.pause();
  return socket;
}

describe('desired fan-out', () => {
  it('every device of a fleet gets its own valid signed desired state, while one device with a backed-up socket waits alone', async () => {
    const fleet = await call<FleetView>('POST', '/api/v1/fleets', { name: 'fanout' });
    const devices: Array<RegisterDeviceResponse & { password: string }> = [];
    for (let i = 0; i < DEVICES; i++) {
      const d = await h.registerDevice();
      await call('PUT', `/api/v1/devices/${d.deviceId}/fleet`, { fleetId: fleet.id });
      devices.push(d);
    }
    const [slow, ...others] = devices as [
      RegisterDeviceResponse & { password: string },
      ...Array<RegisterDeviceResponse & { password: string }>,
    ];
    const stalled = await stalledDevice(Number(new URL(h.cp.mqttUrl).port), slow);
    const broker = h.cp.app.get<Aedes>(AEDES);
    const slowConn = (): Writable | undefined => clientOf(broker, slow.deviceId)?.conn as Writable | undefined;
    // Back its socket up: 64 KB desired states (its own configuration), sent without waiting, until
    // the broker waits for it to drain.
    const big = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`BLOCK_${i}`, 'x'.repeat(4000)]));
    const flood = Array.from({ length: 150 }, () =>
      h.api(`/api/v1/devices/${slow.deviceId}/config`, { method: 'PUT', body: JSON.stringify({ config: big }) }).catch(() => undefined),
    );
    await eventually(async () => slowConn()?.writableNeedDrain === true, 30_000, 'the slow device backed up');

    const received = new Map<string, ReturnType<typeof openDesired>>();
    const clients: MqttClient[] = [];
    for (const d of others) {
      const client = await h.connectDevice(d);
      clients.push(client);
      client.on('message', (_topic, payload) => received.set(d.deviceId, openDesired(payload, d.releaseKeys)));
      await client.subscribeAsync(deviceTopic(d.deviceId, 'desired'), { qos: 1 });
    }
    const release = await call<ReleaseView>('POST', '/api/v1/releases', manifest('1.0.0'), 'application/yaml');
    const { job } = await call<SetFleetTargetResponse>('PUT', `/api/v1/fleets/${fleet.id}/target`, { releaseId: release.id });

    await eventually(
      async () => others.every((d) => received.get(d.deviceId)?.release?.id === release.id),
      8_000,
      'every reading device got the release',
    );
    // The slow device is still connected and backed up: the others did not wait for it.
    expect(slowConn()?.writableNeedDrain).toBe(true);
    for (const d of others) {
      const statement = received.get(d.deviceId)!;
      expect(statement).toMatchObject({ deviceId: d.deviceId, rev: 2, release: { id: release.id, signature: release.signature } });
    }
    // Each device's statement is its own (its id and rev are signed; rev 1 came with joining the fleet), the release part the same.
    expect(new Set(others.map((d) => JSON.stringify(received.get(d.deviceId)!.release))).size).toBe(1);
    // The slow device goes away (as the server's stall cut would make it, later): the job completes.
    stalled.destroy();
    await eventually(
      async () => (await call<FleetTargetJobView>('GET', `/api/v1/fleet-target-jobs/${job.id}`)).status === 'completed',
      20_000,
      'job completed',
    );
    expect(await call<FleetTargetJobView>('GET', `/api/v1/fleet-target-jobs/${job.id}`)).toMatchObject({
      assigned: DEVICES,
      published: DEVICES,
    });
    await Promise.allSettled(flood);
  });
});
