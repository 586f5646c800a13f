import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes, type Client } from 'aedes';
import { connectAsync, type MqttClient } from 'mqtt';
import { deviceTopic, type DeviceEvent } from '@flotilla/shared';
import { Agent } from '../agent';
import { InMemoryRuntime } from '../runtime/in-memory-runtime';
import { systemClock } from '../support/clock';
import { silentLogger } from '../support/logger';
import { testSigner } from '../testing/releases';
import { INITIAL_STATE, type UpdateState } from '../update/machine';
import { MqttLink } from './mqtt-link';
import { EventOutbox } from './outbox';

/**
 * Integration: the agent's events from the moment they happen to the broker's acknowledgment, over
 * a real aedes broker on TCP, the real `MqttLink` and the outbox in a real state directory, with the
 * agent stopped and started again from that directory as a restart (crash, power cut, self-update) would.
 * A plain mqtt.js client plays the control plane and hears what the broker accepted.
 */
const DEVICE = 'dev_events_1';
const PASSWORD = 'secret-password-0123456789';
const signer = testSigner();
/** Small windows so that a test sees several reconnects in a second; the shape is the agent's. */
const FAST = { baseMs: 100, capMs: 800, stableMs: 5_000, bootSpreadMs: 0 };

/**
 * What the broker does with the device's next event: take it, keep it without a PUBACK, or refuse it
 * (the control plane's gate when too many of the device's events wait for its database, which
 * disconnects the device). Holding or refusing also shuts the device out, so that the agent of the
 * moment cannot get it through before the test stops it: only what comes after a restart is heard.
 */
type Policy = 'take' | 'hold' | 'refuse' | 'refuse-once';

let broker: Aedes;
let server: Server;
let url: string;
let cloud: MqttClient;
let stateDir: string;
let policy: Policy;
let shutOut: boolean;
/** Every event the broker was handed, with the connection that handed it. */
let atBroker: { id: string; message: string; connection: number }[];
/** The events the control plane's subscriber received (the broker took them). */
let heard: DeviceEvent[];
let devices: Device[];

beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'flotilla-events-'));
  policy = 'take';
  shutOut = false;
  atBroker = [];
  heard = [];
  devices = [];
  const connectionOf = new WeakMap<Client, number>();
  let connections = 0;
  broker = await Aedes.createBroker({ drainTimeout: 5_000 });
  broker.authenticate = (client, username, password, done) => {
    if (client.id !== DEVICE) return done(null, username === 'cloud');
    if (shutOut || username !== DEVICE || password?.toString() !== PASSWORD)
      return done(Object.assign(new Error('not now'), { returnCode: 5 }), false);
    connectionOf.set(client, ++connections);
    done(null, true);
  };
  broker.authorizePublish = (client, packet, done) => {
    if (!client || client.id !== DEVICE || packet.topic !== deviceTopic(DEVICE, 'events')) return done(null);
    const event = JSON.parse(packet.payload.toString()) as DeviceEvent;
    atBroker.push({ id: event.id!, message: event.message, connection: connectionOf.get(client)! });
    if (policy === 'hold') {
      shutOut = true;
      return;
    }
    if (policy === 'refuse' || policy === 'refuse-once') {
      if (policy === 'refuse') shutOut = true;
      else policy = 'take';
      return done(new Error('too many events wait for the database (of this device); send it again later'));
    }
    done(null);
  };
  server = createServer((socket) => broker.handle(socket));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cloud = await connectAsync(url, { protocolVersion: 4, clientId: 'cloud', username: 'cloud' });
  await cloud.subscribeAsync(deviceTopic(DEVICE, 'events'), { qos: 1 });
  cloud.on('message', (_topic, payload) => heard.push(JSON.parse(payload.toString()) as DeviceEvent));
});

afterEach(async () => {
  // Bounded: a test that failed may leave a device waiting on a broker that holds its messages.
  const bound = new Promise((r) => setTimeout(r, 5_000).unref());
  for (const device of devices) await Promise.race([stopDevice(device).catch(() => undefined), bound]);
  await cloud.endAsync(true);
  await new Promise<void>((r) => broker.close(() => r()));
  await new Promise((r) => server.close(r));
  await rm(stateDir, { recursive: true, force: true });
});

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; broker got ${JSON.stringify(atBroker)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Device {
  agent: Agent;
  link: MqttLink;
}

/** The agent as `run-agent.ts` puts it together, from the state directory, with an in-memory engine. */
async function startDevice(): Promise<Device> {
  const outbox = new EventOutbox(stateDir);
  await outbox.load();
  let journal: UpdateState = INITIAL_STATE;
  const agent: Agent = new Agent({
    deviceId: DEVICE,
    runtime: new InMemoryRuntime(),
    journal: { read: async () => journal, write: async (s) => void (journal = s) },
    ledger: { read: async () => [], add: async () => undefined, write: async () => undefined },
    clock: systemClock,
    logger: silentLogger,
    releaseKeys: [signer.key],
    board: undefined,
    freeDiskBytes: async () => Number.MAX_SAFE_INTEGER,
    imageFacts: async () => ({}),
    outbox,
    collectInventory: async () => {
      throw new Error('not here');
    },
    sampleTelemetry: async () => ({ at: new Date().toISOString(), cpuPercent: 0, memUsedBytes: 0, memTotalBytes: 1 }),
    settings: { reportIntervalMs: 60_000, reconcileIntervalMs: 600_000, telemetryIntervalMs: 600_000, telemetrySampleMs: 600_000 },
  });
  const link = new MqttLink({
    credential: { deviceId: DEVICE, password: PASSWORD, mqttUrl: url },
    logger: silentLogger,
    heldRev: () => agent.heldRev(),
    onDesired: () => undefined,
    onCommand: async () => undefined,
    onConnect: () => agent.onConnected(),
    reconnect: FAST,
  });
  await agent.start(link);
  link.start();
  const device = { agent, link };
  devices.push(device);
  return device;
}

async function stopDevice(device: Device): Promise<void> {
  devices = devices.filter((d) => d !== device);
  await device.link.stop();
  await device.agent.stop();
}

/** The agent goes away while the broker has not acknowledged its event: its connection drops, it is stopped. */
async function restartAfterLosing(device: Device): Promise<Device> {
  for (const c of Object.values((broker as unknown as { clients: Record<string, { id: string; conn: { destroy(): void } }> }).clients)) {
    if (c?.id === DEVICE) c.conn.destroy();
  }
  await until('the device disconnected', () => (device.link.connected ? undefined : true));
  await stopDevice(device);
  policy = 'take';
  shutOut = false;
  return startDevice();
}

/** Raises a `command` event (a rollback with nothing on trial is refused, and the refusal is told). */
async function raise(device: Device, commandId: string): Promise<void> {
  await device.agent.command({ schema: 1, id: commandId, name: 'rollback', args: {} }).catch(() => undefined);
}

const about = (commandId: string) => (e: { message: string }) => e.message.includes(`(${commandId})`);

function keptOnDisk(): DeviceEvent[] {
  try {
    return (JSON.parse(readFileSync(join(stateDir, 'outbox.json'), 'utf8')) as { events: DeviceEvent[] }).events;
  } catch {
    return [];
  }
}

/** Heard exactly once: a later event, sent after it, arrived, and nothing else carried its id. */
async function expectHeardOnce(device: Device, id: string): Promise<void> {
  await raise(device, 'c9');
  await until('the later event', () => heard.find(about('c9')));
  expect(heard.filter((e) => e.id === id)).toHaveLength(1);
  await until('the outbox emptied once the broker acknowledged both', () => (keptOnDisk().length === 0 ? true : undefined));
}

describe('device events through refusals, reconnects and agent restarts', () => {
  it('sends an event raised while connected again after an agent restart when the broker never acknowledged it', async () => {
    const first = await startDevice();
    await until('connected', () => (first.link.connected ? true : undefined));
    policy = 'hold';
    await raise(first, 'c1');
    const { id } = await until('the broker holding the event', () => atBroker.find(about('c1')));

    const second = await restartAfterLosing(first);
    const event = await until('the event after the restart', () => heard.find((e) => e.id === id));
    expect(event).toMatchObject({ kind: 'command', message: expect.stringMatching(/^rollback \(c1\): /) });
    await expectHeardOnce(second, id);
  });

  it('sends an event kept while offline again after an agent restart when the broker refused it on reconnect', async () => {
    shutOut = true;
    const first = await startDevice();
    await raise(first, 'c1');
    await until('the event on disk', () => (keptOnDisk().some(about('c1')) ? true : undefined));
    policy = 'refuse';
    shutOut = false;
    const { id } = await until('the broker refusing the event', () => atBroker.find(about('c1')));
    await until('the device disconnected', () => (first.link.connected ? undefined : true));
    // Kept after whatever the agent wrote when it sent the first, so the restart comes after that write.
    await raise(first, 'c2');
    await until('the next event on disk', () => (keptOnDisk().some(about('c2')) ? true : undefined));

    const second = await restartAfterLosing(first);
    await until('the event after the restart', () => heard.find((e) => e.id === id));
    await expectHeardOnce(second, id);
    expect(heard.map((e) => e.message.match(/\((c\d)\)/)?.[1])).toEqual(['c1', 'c2', 'c9']);
  });

  it('sends a refused event again after the reconnect, once, without the agent restarting', async () => {
    const device = await startDevice();
    await until('connected', () => (device.link.connected ? true : undefined));
    policy = 'refuse-once';
    await raise(device, 'c1');
    const { id } = await until('the event after the reconnect', () => heard.find(about('c1')));
    await expectHeardOnce(device, id!);
    // Neither the client's own resend nor the outbox's sent it twice over one connection.
    const sends = atBroker.filter((e) => e.id === id).map((e) => e.connection);
    expect(sends).toHaveLength(2);
    expect(new Set(sends).size).toBe(2);
  });

  it('sends the events kept while offline in the order they happened, each once', async () => {
    shutOut = true;
    const device = await startDevice();
    for (const c of ['c1', 'c2', 'c3']) await raise(device, c);
    await until('the events on disk', () => (keptOnDisk().length === 3 ? true : undefined));
    shutOut = false;
    await until('the third event', () => heard.find(about('c3')));
    await expectHeardOnce(device, heard[0]!.id!);
    expect(heard.map((e) => e.message.match(/\((c\d)\)/)?.[1])).toEqual(['c1', 'c2', 'c3', 'c9']);
  });
});
