import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import { connectAsync, type MqttClient } from 'mqtt';
import { PROTOCOL_SCHEMA, SERVER_BUSY, deviceTopic, type CommandResult } from '@flotilla/shared';
import { silentLogger } from '../support/logger';
import { MqttLink } from './mqtt-link';

/**
 * Integration: a real aedes broker over TCP, the device side through `MqttLink`, and a
 * plain mqtt.js client playing the control plane.
 */
const DEVICE = 'dev_link_1';
const PASSWORD = 'secret-password-0123456789';

let broker: Aedes;
let server: Server;
let url: string;
let cloud: MqttClient;
let heard: { channel: string; body: Record<string, unknown> }[];
let link: MqttLink | undefined;

beforeEach(async () => {
  broker = await Aedes.createBroker({ drainTimeout: 5_000 });
  broker.authenticate = (client, username, password, done) => {
    const ok = client.id === DEVICE ? username === DEVICE && password?.toString() === PASSWORD : username === 'cloud';
    done(ok ? null : Object.assign(new Error('bad credentials'), { returnCode: 4 }), ok);
  };
  server = createServer((socket) => broker.handle(socket));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  heard = [];
  cloud = await connectAsync(url, { protocolVersion: 4, clientId: 'cloud', username: 'cloud' });
  await cloud.subscribeAsync(`flotilla/v1/d/${DEVICE}/#`, { qos: 1 });
  cloud.on('message', (topic, payload) => {
    const channel = topic.slice(`flotilla/v1/d/${DEVICE}/`.length);
    if (channel !== 'desired' && channel !== 'cmd') heard.push({ channel, body: JSON.parse(payload.toString()) });
  });
});

afterEach(async () => {
  await link?.stop().catch(() => undefined);
  link = undefined;
  await cloud.endAsync(true);
  await new Promise<void>((r) => broker.close(() => r()));
  await new Promise((r) => server.close(r));
});

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; heard ${JSON.stringify(heard)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Small windows so that a test sees several reconnects in a second; the shape is the agent's. */
const FAST = { baseMs: 100, capMs: 800, stableMs: 5_000, bootSpreadMs: 0 };

function startLink(
  overrides: {
    heldRev?: number;
    onDesired?: (payload: Buffer) => void;
    onCommand?: (payload: Buffer) => Promise<CommandResult | undefined>;
    firstConnectDelayMs?: number;
    random?: () => number;
  } = {},
) {
  let connects = 0;
  const created = new MqttLink({
    credential: { deviceId: DEVICE, password: PASSWORD, mqttUrl: url },
    logger: silentLogger,
    heldRev: () => overrides.heldRev ?? 4,
    onDesired: overrides.onDesired ?? (() => undefined),
    onCommand: overrides.onCommand ?? (async () => undefined),
    onConnect: () => connects++,
    reconnect: FAST,
    ...(overrides.firstConnectDelayMs !== undefined ? { firstConnectDelayMs: overrides.firstConnectDelayMs } : {}),
    ...(overrides.random ? { random: overrides.random } : {}),
  });
  created.start();
  link = created;
  return { link: created, connects: () => connects };
}

describe('MqttLink', () => {
  it('on connect says online, asks for desired with its rev, and calls onConnect', async () => {
    const { connects } = startLink({ heldRev: 4 });
    await until('desired/get', () => heard.find((h) => h.channel === 'desired/get'));
    expect(heard.slice(0, 2)).toEqual([
      { channel: 'status', body: { schema: 1, status: 'online' } },
      { channel: 'desired/get', body: { schema: 1, rev: 4 } },
    ]);
    expect(connects()).toBe(1);
  });

  it('hands every desired message over as it arrived, judging none itself (the desired gate does)', async () => {
    const received: string[] = [];
    const { link: started } = startLink({ heldRev: 4, onDesired: (payload) => received.push(payload.toString()) });
    await until('desired/get', () => heard.find((h) => h.channel === 'desired/get'));
    for (const body of ['{"schema":1,"rev":3}', 'not json', '{"schema":1,"rev":5}']) {
      await cloud.publishAsync(deviceTopic(DEVICE, 'desired'), body, { qos: 1 });
    }
    await until('three messages', () => (received.length === 3 ? true : undefined));
    expect(received).toEqual(['{"schema":1,"rev":3}', 'not json', '{"schema":1,"rev":5}']);
    // No event about them: a sentinel the link publishes now reaches the cloud after any event it sent before.
    const statuses = () => heard.filter((h) => h.channel === 'status').length;
    const before = statuses();
    started.publish('status', { schema: PROTOCOL_SCHEMA, status: 'online' });
    await until('the sentinel', () => (statuses() > before ? true : undefined));
    expect(heard.filter((h) => h.channel === 'events')).toEqual([]);
  });

  it('hands every cmd message over as it arrived and sends the answer it gets back on cmd/res (the command gate judges)', async () => {
    const received: string[] = [];
    startLink({
      onCommand: async (payload) => {
        received.push(payload.toString());
        // The gate's answer to a command it could name; none to one it could not.
        if (payload.toString() === 'not json') return undefined;
        return { schema: PROTOCOL_SCHEMA, id: 'c1', ok: false, error: `unsigned: ${'x'.repeat(5_000)}` };
      },
    });
    await until('desired/get', () => heard.find((h) => h.channel === 'desired/get'));
    await cloud.publishAsync(deviceTopic(DEVICE, 'cmd'), 'not json', { qos: 1 });
    await cloud.publishAsync(deviceTopic(DEVICE, 'cmd'), '{"schema":1,"id":"c1","name":"rollback"}', { qos: 1 });
    const [result] = await until('a result', () => {
      const r = heard.filter((h) => h.channel === 'cmd/res');
      return r.length > 0 ? r.map((x) => x.body) : undefined;
    });
    expect(received).toEqual(['not json', '{"schema":1,"id":"c1","name":"rollback"}']);
    // A long reason is cut to what the protocol stores, not dropped with the answer.
    expect(result).toEqual({ schema: 1, id: 'c1', ok: false, error: expect.stringMatching(/^unsigned: x+/) });
    expect((result!.error as string).length).toBeLessThan(5_000);
    expect(heard.filter((h) => h.channel === 'cmd/res')).toHaveLength(1);
  });

  it('publishes offline through the broker when the connection drops, and says hello again on reconnect', async () => {
    const { connects } = startLink();
    await until('online', () => heard.find((h) => h.channel === 'status'));
    for (const c of Object.values((broker as unknown as { clients: Record<string, { conn: { destroy(): void } }> }).clients)) {
      if (c !== undefined && (c as unknown as { id: string }).id === DEVICE) c.conn.destroy();
    }
    await until('last will', () => heard.find((h) => h.channel === 'status' && h.body.status === 'offline'));
    await until('second connect', () => (connects() === 2 ? true : undefined));
    // The second hello travels after the connect is counted: wait for it rather than race it.
    await until('second desired/get', () => (heard.filter((h) => h.channel === 'desired/get').length >= 2 ? true : undefined));
    expect(heard.filter((h) => h.channel === 'desired/get')).toHaveLength(2);
  });

  it('says offline itself on a clean stop', async () => {
    const { link: l } = startLink();
    await until('online', () => heard.find((h) => h.channel === 'status'));
    await l.stop();
    await until('offline', () => heard.find((h) => h.channel === 'status' && h.body.status === 'offline'));
  });

  it('stops at once while disconnected, even holding a message the broker never acknowledged', async () => {
    // The broker keeps the device's telemetry without a PUBACK, then lets the device in no more and drops it.
    let held = false;
    const authenticate = broker.authenticate;
    broker.authenticate = (client, username, password, done) => {
      if (held && client.id === DEVICE) return done(Object.assign(new Error('not now'), { returnCode: 5 }), false);
      authenticate(client, username, password, done);
    };
    broker.authorizePublish = (client, packet, done) => {
      if (client?.id === DEVICE && packet.topic === deviceTopic(DEVICE, 'telemetry')) held = true;
      else done(null);
    };
    const { link: l } = startLink();
    await until('online', () => heard.find((h) => h.channel === 'status'));
    l.publish('telemetry', { schema: 1, samples: [{ at: '2026-12-07T21:00:00.000Z', cpuPercent: 7, memUsedBytes: 1, memTotalBytes: 2 }] });
    await until('the broker holding it', () => (held ? true : undefined));
    for (const c of Object.values((broker as unknown as { clients: Record<string, { id: string; conn: { destroy(): void } }> }).clients)) {
      if (c?.id === DEVICE) c.conn.destroy();
    }
    await until('disconnected', () => (l.connected ? undefined : true));
    // Bounded, not waited on for good: before, the stop waited for a PUBACK that could no longer come.
    const outcome = await Promise.race([
      l.stop().then(() => 'stopped'),
      new Promise((r) => setTimeout(r, 5_000).unref()).then(() => 'still stopping after 5 s'),
    ]);
    expect(outcome).toBe('stopped');
  });

  it('publishes the device channels under its own prefix with a valid payload', async () => {
    const { link: l } = startLink();
    await until('online', () => heard.find((h) => h.channel === 'status'));
    l.publish('telemetry', { schema: 1, samples: [{ at: new Date().toISOString(), cpuPercent: 3, memUsedBytes: 1, memTotalBytes: 2 }] });
    const t = await until('telemetry', () => heard.find((h) => h.channel === 'telemetry'));
    expect(t.body.samples).toHaveLength(1);
  });

  it('sends no message larger than the control plane takes, and the messages after it go out', async () => {
    // The control plane closes the connection of a device that sends a larger payload, and mqtt.js
    // sends an unacknowledged QoS 1 message again first after every reconnect: sent, it would cut
    // the device off until the agent restarts. A schema-valid report can be that large.
    const { link: l, connects } = startLink();
    await until('online', () => heard.find((h) => h.channel === 'status'));
    const components = Array.from({ length: 256 }, (_, i) => ({
      name: `c${i}`,
      image: `registry.example/${'r'.repeat(1_000)}:${i}`,
      state: 'running' as const,
      health: 'none' as const,
    }));
    const update = { phase: 'idle' as const, active: null, candidate: null, failedRev: null, lastFailure: null };
    l.publish('reported', { schema: 1, at: new Date().toISOString(), agentVersion: '1.0.0', rev: 1, update, components });
    // A sentinel published after it reaches the cloud after it would have.
    l.publish('telemetry', { schema: 1, samples: [{ at: new Date().toISOString(), cpuPercent: 3, memUsedBytes: 1, memTotalBytes: 2 }] });
    await until('the sentinel', () => heard.find((h) => h.channel === 'telemetry'));
    expect(heard.filter((h) => h.channel === 'reported')).toEqual([]);
    expect(connects()).toBe(1);
  });

  it('sends telemetry again after a reconnect when the broker never acknowledged it (nothing lost with the link)', async () => {
    // The first telemetry message reaches the broker, which drops the device's connection instead of storing it.
    let dropped = false;
    broker.authorizePublish = (client, packet, done) => {
      if (!dropped && client?.id === DEVICE && packet.topic === deviceTopic(DEVICE, 'telemetry')) {
        dropped = true;
        (client as unknown as { conn: { destroy(): void } }).conn.destroy();
        return;
      }
      done(null);
    };
    const delivered: string[] = [];
    const { link: l, connects } = startLink();
    await until('online', () => heard.find((h) => h.channel === 'status'));
    l.publish(
      'telemetry',
      { schema: 1, samples: [{ at: '2026-12-05T18:00:00.000Z', cpuPercent: 7, memUsedBytes: 1, memTotalBytes: 2 }] },
      () => delivered.push('telemetry'),
    );
    const t = await until('telemetry after the reconnect', () => heard.find((h) => h.channel === 'telemetry'));
    expect(dropped).toBe(true);
    // mqtt.js resends its stored packets as the CONNACK arrives, before the link's own connect handler runs.
    await until('the second connect', () => (connects() === 2 ? true : undefined));
    expect(t.body.samples).toEqual([{ at: '2026-12-05T18:00:00.000Z', cpuPercent: 7, memUsedBytes: 1, memTotalBytes: 2 }]);
    await until('the broker acknowledged it', () => (delivered.length === 1 ? true : undefined));
  });

  it('waits the boot spread before its first connect', async () => {
    const started = performance.now();
    let firstAt = 0;
    broker.once('clientReady', () => (firstAt = performance.now()));
    startLink({ firstConnectDelayMs: 400 });
    await until('online', () => heard.find((h) => h.channel === 'status'));
    expect(firstAt - started).toBeGreaterThanOrEqual(400);
  });

  it('backs off with growing windows while the broker refuses it, then connects', async () => {
    const attempts: number[] = [];
    const authenticate = broker.authenticate;
    broker.authenticate = (client, username, password, done) => {
      if (client.id !== DEVICE || attempts.push(performance.now()) > 4) return authenticate(client, username, password, done);
      done(Object.assign(new Error('not now'), { returnCode: 5 }), false);
    };
    // The top of each window, so the waits are the schedule's ceilings: 100, 200, 400, 800 ms.
    startLink({ random: () => 0.999 });
    await until('online', () => heard.find((h) => h.channel === 'status'));
    const gaps = attempts.slice(1, 5).map((at, i) => at - attempts[i]!);
    expect(gaps).toHaveLength(4);
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual([100, 200, 400, 800][i]! * 0.99 - 5));
    // Growing: the first wait ends before the last window's floor (a fixed period would not). Not a
    // ratio of the two: a loaded machine adds hundreds of milliseconds to any one wait.
    expect(gaps[0]!).toBeLessThan(800 * 0.99 - 5);
  });

  it('after a "server busy" CONNACK (code 3) comes back no sooner than the documented delay', async () => {
    const attempts: number[] = [];
    const authenticate = broker.authenticate;
    broker.authenticate = (client, username, password, done) => {
      if (client.id !== DEVICE || attempts.push(performance.now()) > 1) return authenticate(client, username, password, done);
      done(Object.assign(new Error('busy'), { returnCode: SERVER_BUSY.connackReturnCode }), false);
    };
    startLink({ random: () => 0 });
    await until('online', () => heard.find((h) => h.channel === 'status'), SERVER_BUSY.retryAfterMs + 5_000);
    expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(SERVER_BUSY.retryAfterMs - 5);
  }, 20_000);
});
