import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deviceTopic, type ProvisioningTokenView, type RegisterDeviceResponse } from '@flotilla/shared';
import type { ChildMessage } from '../testing/control-plane-child';
import { createTestDatabase, type TestDatabase } from '../testing/test-database';
import { metricValue } from '../testing/metrics';

/**
 * A hostile device with a valid credential floods QoS 2 messages over many `clean: false`
 * reconnects and never sends PUBREL: the control plane (a child process, so that its memory is
 * its own) keeps no state for them. Raw MQTT packets, since mqtt.js always answers PUBREC.
 */
const ROOT = join(__dirname, '..', '..', '..');
const ROUNDS = 40;
const PER_ROUND = 50;
const PAYLOAD = Buffer.alloc(32 * 1024, 'x');
/**
 * Growth tolerated after GC; the flood sends ROUNDS × PER_ROUND × 32 KiB = 62.5 MiB. Payloads are
 * Buffers, outside the JS heap: `external` counts them. Measured with QoS 2 let through (aedes
 * kept them): heap+external +94 MiB, RSS +86 MiB; refused: both under 2 MiB.
 */
const RETAINED_BOUND_MIB = 12;
const RSS_BOUND_MIB = 40;

let db: TestDatabase;
let dataDir: string;
let child: ChildProcess;
let ready: { httpUrl: string; mqttUrl: string; apiKey: string };

function next<T>(pick: (m: ChildMessage) => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: ChildMessage): void => {
      const value = pick(m);
      if (value === undefined) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(value);
    };
    const onExit = (code: number | null): void => reject(new Error(`control plane exited (${code})`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function heapAfterGc(): Promise<NodeJS.MemoryUsage> {
  const memory = next((m) => ('memory' in m ? m.memory : undefined));
  child.send('memory');
  return memory;
}

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'flotilla-qos2-'));
  child = fork(join(__dirname, '..', 'testing', 'control-plane-child.ts'), [], {
    cwd: ROOT,
    execArgv: ['--expose-gc', '-r', '@swc-node/register'],
    env: {
      ...process.env,
      SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json'),
      HOST: '127.0.0.1',
      PORT: '0',
      MQTT_PORT: '0',
      DATABASE_URL: db.url,
      FLOTILLA_API_KEY: 'qos2-flood-operator-key-0123456789',
      FLOTILLA_DATA_DIR: dataDir,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  ready = await next((m) => ('ready' in m ? m.ready : undefined));
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.send('stop');
    await exited;
  }
  await db?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function api(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${ready.httpUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${ready.apiKey}`, 'content-type': 'application/json' },
  });
}

async function registerDevice(): Promise<RegisterDeviceResponse> {
  const token = (await (await api('/api/v1/provisioning-tokens', { method: 'POST', body: '{}' })).json()) as ProvisioningTokenView;
  const res = await api('/api/v1/devices/register', { method: 'POST', body: JSON.stringify({ token: token.token }) });
  return (await res.json()) as RegisterDeviceResponse;
}

/** MQTT 3.1.1 encodings (section 2 and 3), just what the flood needs. */
function remainingLength(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return Buffer.from(bytes);
}

function str(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
}

function packet(firstByte: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([firstByte]), remainingLength(body.length), body]);
}

function connectPacket(deviceId: string, password: string): Buffer {
  // Flags: username, password, clean session off (0xc0); keep-alive 30 s.
  const header = Buffer.concat([str('MQTT'), Buffer.from([4, 0xc0, 0, 30])]);
  return packet(0x10, Buffer.concat([header, str(deviceId), str(deviceId), str(password)]));
}

function qos2Publish(topic: string, messageId: number, payload: Buffer): Buffer {
  return packet(0x34, Buffer.concat([str(topic), Buffer.from([messageId >> 8, messageId & 0xff]), payload]));
}

/** One round: connect (clean: false), send QoS 2 messages, never PUBREL; resolves with the PUBRECs seen when the socket closes. */
function round(port: number, device: RegisterDeviceResponse, firstId: number): Promise<{ connack: number; pubrecs: number }> {
  return new Promise((resolve, reject) => {
    const socket: Socket = tcpConnect(port, '127.0.0.1');
    let connack = -1;
    let pubrecs = 0;
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), 10_000);
    socket.on('error', () => undefined);
    socket.once('connect', () => socket.write(connectPacket(device.deviceId, device.password!)));
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered[1]!) {
        const type = buffered[0]! >> 4;
        if (type === 2) {
          connack = buffered[3]!;
          if (connack !== 0) return socket.destroy();
          const topic = deviceTopic(device.deviceId, 'telemetry');
          for (let i = 0; i < PER_ROUND; i++) socket.write(qos2Publish(topic, ((firstId + i) % 65535) + 1, PAYLOAD));
        } else if (type === 5) {
          // A broker that stored them all: this round is over, the session keeps them.
          if (++pubrecs === PER_ROUND) socket.destroy();
        }
        buffered = buffered.subarray(2 + buffered[1]!);
      }
    });
    socket.once('close', () => {
      clearTimeout(timer);
      if (connack === -1) reject(new Error('no CONNACK'));
      else resolve({ connack, pubrecs });
    });
  });
}

it('keeps no state for QoS 2 messages never released, over many clean: false reconnects', async () => {
  const device = await registerDevice();
  const port = Number(new URL(ready.mqttUrl).port);
  await round(port, device, 0); // warm-up: first connection, first refusal, code paths loaded
  const before = await heapAfterGc();
  let pubrecs = 0;
  for (let r = 1; r <= ROUNDS; r++) {
    const result = await round(port, device, r * PER_ROUND);
    expect(result.connack).toBe(0);
    pubrecs += result.pubrecs;
  }
  const after = await heapAfterGc();
  const mib = (n: number): string => (n / 2 ** 20).toFixed(1);
  const retained = (m: NodeJS.MemoryUsage): number => m.heapUsed + m.external;
  console.log(
    `QoS 2 flood, ${ROUNDS} rounds × ${PER_ROUND} × ${PAYLOAD.length / 1024} KiB: heap+external ${mib(retained(before))} → ${mib(retained(after))} MiB, ` +
      `rss ${mib(before.rss)} → ${mib(after.rss)} MiB, PUBRECs ${pubrecs}`,
  );
  expect(pubrecs).toBe(0);
  expect((retained(after) - retained(before)) / 2 ** 20).toBeLessThan(RETAINED_BOUND_MIB);
  expect((after.rss - before.rss) / 2 ** 20).toBeLessThan(RSS_BOUND_MIB);
  const metrics = await (await api('/metrics')).text();
  expect(metricValue(metrics, 'flotilla_mqtt_publishes_refused_total', { reason: 'qos2' })).toBe(ROUNDS + 1);
}, 120_000);
