import { connect as tcpConnect } from 'node:net';
import type { LoggerService } from '@nestjs/common';
import { connect as mqttConnect, connectAsync, type MqttClient } from 'mqtt';
import { Client as PgClient } from 'pg';
import { deviceTopic, PROTOCOL_SCHEMA, type ReleaseView } from '@flotilla/shared';
import { DEFAULT_QUOTAS } from '../limits/device-limits';
import { eventually, startHarness, type Harness } from '../testing/harness';
import { openDesired } from '../testing/desired';
import { metricValue } from '../testing/metrics';
import { manifest } from '../testing/sim-fleet';

/** Per-device quotas and per-address connection limits, through the real broker (TCP) and PostgreSQL. */

// Generous: the machine the suite runs on is shared, and some of these make hundreds of connections.
jest.setTimeout(30_000);

async function metric(h: Harness, name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricValue(await (await h.api('/metrics')).text(), name, labels);
}

function tryConnect(h: Harness, clientId: string, password = 'not-the-password-0123456789'): Promise<MqttClient> {
  return connectAsync(h.cp.mqttUrl, {
    clientId,
    username: clientId,
    password,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
}

describe('uplink limits', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      limits: { quotas: { ...DEFAULT_QUOTAS, events: { messagesPerMinute: 20, bytesPerMinute: 1024 * 1024 } }, reportIntervalMs: 500 },
    });
  });
  afterAll(() => h?.close());

  it('stores events up to the quota, and drops and counts the rest of a flood', async () => {
    const device = await h.registerDevice();
    const client = await h.connectDevice(device);
    const topic = deviceTopic(device.deviceId, 'events');
    const flood = 100;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: flood }, (_, i) =>
        client.publishAsync(
          topic,
          JSON.stringify({ schema: PROTOCOL_SCHEMA, at: new Date().toISOString(), kind: 'command', message: `flood ${i}` }),
          { qos: 1 },
        ),
      ),
    );
    const stored = async (): Promise<number> =>
      Number(
        (
          await h.db.query<{ n: string }>(`SELECT count(*) AS n FROM device_events WHERE device_id = $1 AND kind = 'command'`, [
            device.deviceId,
          ])
        )[0]!.n,
      );
    const dropped = (): Promise<number> => metric(h, 'flotilla_uplink_quota_dropped_total', { channel: 'events', limit: 'messages' });
    // Every message of the flood is either stored or counted as dropped: wait for both to add up.
    await eventually(async () => (await stored()) + (await dropped()) === flood, 10_000, 'every event stored or counted');
    // A minute's worth (20) at once, plus what refilled during the flood (one every 3 s).
    expect(await stored()).toBeGreaterThanOrEqual(20);
    expect(await stored()).toBeLessThanOrEqual(20 + Math.ceil((Date.now() - started) / 3000));
    expect(client.connected).toBe(true);
    // The device's own history says so, in one event per interval rather than one per message.
    const recorded = async (): Promise<number> => {
      const rows = await h.db.query<{ message: string }>(
        `SELECT message FROM device_events WHERE device_id = $1 AND kind = 'quota-exceeded'`,
        [device.deviceId],
      );
      return rows.reduce(
        (sum, r) => sum + Number(/^dropped (\d+) events messages over the quota of 20 messages/.exec(r.message)?.[1] ?? NaN),
        0,
      );
    };
    await eventually(async () => (await recorded()) === (await dropped()), 5000, 'the drops recorded in the device events');
  });

  it('stores an event from a clock far ahead at server time, flagged in its message', async () => {
    const device = await h.registerDevice();
    const client = await h.connectDevice(device);
    const before = Date.now();
    const body = { schema: PROTOCOL_SCHEMA, at: '2099-01-01T00:00:00.000Z', kind: 'apply-started', message: 'from the future' };
    await client.publishAsync(deviceTopic(device.deviceId, 'events'), JSON.stringify(body), { qos: 1 });
    await eventually(
      async () => (await h.db.query('SELECT 1 FROM device_events WHERE device_id = $1', [device.deviceId])).length === 1,
      5000,
      'event stored',
    );
    const [row] = await h.db.query<{ at: Date; message: string }>('SELECT at, message FROM device_events WHERE device_id = $1', [
      device.deviceId,
    ]);
    expect(row!.at.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(row!.at.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    expect(row!.message).toBe('from the future [device clock: 2099-01-01T00:00:00.000Z]');
    expect(await metric(h, 'flotilla_uplink_clock_skew_total', { channel: 'events', action: 'server-time' })).toBe(1);
  });

  it('drops telemetry samples from a clock out of the window and stores the others', async () => {
    const device = await h.registerDevice();
    const client = await h.connectDevice(device);
    const sample = (at: string) => ({ at, cpuPercent: 1, memUsedBytes: 1, memTotalBytes: 2 });
    const now = new Date().toISOString();
    const samples = [sample('2099-01-01T00:00:00Z'), sample(now), sample('1970-01-01T00:00:00Z')];
    await client.publishAsync(deviceTopic(device.deviceId, 'telemetry'), JSON.stringify({ schema: PROTOCOL_SCHEMA, samples }), { qos: 1 });
    await eventually(
      async () => (await metric(h, 'flotilla_uplink_clock_skew_total', { channel: 'telemetry', action: 'dropped' })) === 2,
      5000,
      'two samples counted as dropped',
    );
    await eventually(
      async () => (await h.db.query('SELECT 1 FROM telemetry_samples WHERE device_id = $1', [device.deviceId])).length === 1,
      5000,
      'the sample in the window stored',
    );
    const rows = await h.db.query<{ at: Date }>('SELECT at FROM telemetry_samples WHERE device_id = $1', [device.deviceId]);
    expect(rows.map((r) => r.at.toISOString())).toEqual([now]);
  });
});

describe('failed logins', () => {
  let h: Harness;
  const lines: string[] = [];
  const record = (message: unknown): void => void lines.push(String(message));
  const logger: LoggerService = { log: record, warn: record, error: record, debug: () => undefined, verbose: () => undefined };
  let credentialQueries = 0;
  const originalQuery = PgClient.prototype.query;

  beforeAll(async () => {
    // Counts the control plane's credential look-ups of one device on the connect path (the
    // directory's connection and the pool's clients are of this class).
    PgClient.prototype.query = function (this: PgClient, ...args: unknown[]) {
      const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text;
      if (text?.includes('password_hash') && text.includes('id = $1')) credentialQueries++;
      return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof originalQuery;
    h = await startHarness(
      { limits: { failedConnectsPerSecond: 0.2, failedConnectsBurst: 20, unknownIdCacheMs: 60_000, reportIntervalMs: 500 } },
      { logger },
    );
  });
  afterAll(async () => {
    PgClient.prototype.query = originalQuery;
    await h?.close();
  });

  it('answers malformed and remembered unknown ids without a query, throttles the address, and logs a bounded summary', async () => {
    const device = await h.registerDevice();
    // A device registered a moment ago is read once at most (if its connect beats the database's
    // notification); from then on it is answered from memory.
    await (await h.connectDevice(device)).endAsync();
    const base = credentialQueries;
    expect(base).toBeLessThanOrEqual(1);
    await (await h.connectDevice(device)).endAsync();
    expect(credentialQueries).toBe(base);

    const started = Date.now();
    const linesBefore = lines.length;
    // Malformed ids: no device can have them.
    for (let i = 0; i < 10; i++) await expect(tryConnect(h, `bad/id-${i}`)).rejects.toMatchObject({ code: 2 });
    expect(credentialQueries).toBe(base);
    // One unknown id, again and again: one query, then answered from memory.
    await expect(tryConnect(h, 'ghost')).rejects.toMatchObject({ code: 4 });
    await expect(tryConnect(h, 'ghost')).rejects.toMatchObject({ code: 4 });
    expect(credentialQueries).toBe(base + 1);
    // Distinct unknown ids: the address runs out of failed logins (20, less the 12 above, plus
    // one every 5 s) and is refused without a query.
    for (let i = 0; i < 300; i++) await tryConnect(h, `ghost-${i}`).catch(() => undefined);
    // Right away (a token comes back after 5 s): a throttled address is refused even with the
    // right password, as "server unavailable" (retry later).
    await expect(h.connectDevice(device)).rejects.toMatchObject({ code: 3 });
    const refilled = Math.ceil((Date.now() - started) / 5000) + 1;
    expect(credentialQueries).toBeLessThanOrEqual(base + 1 + 8 + refilled);
    expect(await metric(h, 'flotilla_mqtt_logins_refused_total', { reason: 'malformed-id' })).toBe(10);
    expect(await metric(h, 'flotilla_mqtt_logins_refused_total', { reason: 'unknown-id-cached' })).toBe(1);
    // Every distinct id beyond what the address was allowed is refused as throttled.
    expect(await metric(h, 'flotilla_mqtt_logins_refused_total', { reason: 'throttled' })).toBeGreaterThanOrEqual(300 - (8 + refilled));

    // 312 refusals, one summary line per 500 ms interval (the last one waited for).
    await eventually(async () => lines.slice(linesBefore).some((l) => l.includes('throttled')), 5000, 'a summary line');
    const summaries = lines.slice(linesBefore).filter((l) => l.startsWith('refused '));
    expect(summaries.length).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / 500) + 1);
    expect(lines.length - linesBefore).toBe(summaries.length);
  }, 30_000);
});

describe('connections per address', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ limits: { maxConnectionsPerAddress: 3 } });
  });
  afterAll(() => h?.close());

  it('refuses the connection beyond the cap, and admits one again when another closes', async () => {
    // One after the other: the HTTP listeners take the same cap (3) for their own connections.
    const devices: Awaited<ReturnType<Harness['registerDevice']>>[] = [];
    for (let i = 0; i < 4; i++) devices.push(await h.registerDevice());
    const clients = [];
    for (const d of devices.slice(0, 3)) clients.push(await h.connectDevice(d));
    // The fourth socket is closed by the broker before any MQTT packet.
    const { port } = new URL(h.cp.mqttUrl);
    const fourth = tcpConnect(Number(port), '127.0.0.1');
    await new Promise((resolve) => fourth.once('close', resolve));
    expect(await metric(h, 'flotilla_mqtt_connections_refused_total', { reason: 'per-address-cap' })).toBe(1);
    await clients[0]!.endAsync();
    await eventually(
      async () => {
        const c = await h.connectDevice(devices[3]!).catch(() => undefined);
        return c !== undefined;
      },
      5000,
      'a place freed',
    );
  });
});

describe('messages kept for a device', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ limits: { maxQueuedPerDevice: 3 } });
  });
  afterAll(() => h?.close());

  it('keeps at most the maximum for a device away with clean: false; the device gets the current state by asking', async () => {
    const release = (await (
      await h.api('/api/v1/releases', { method: 'POST', body: manifest('1.0.0'), headers: { 'content-type': 'application/yaml' } })
    ).json()) as ReleaseView;
    const device = await h.registerDevice();
    const topic = deviceTopic(device.deviceId, 'desired');
    const away = await h.connectDevice(device, { clean: false });
    await away.subscribeAsync(topic, { qos: 1 });
    await away.endAsync();

    for (let i = 0; i < 8; i++) {
      const res = await h.api(`/api/v1/devices/${device.deviceId}/release`, {
        method: 'PUT',
        body: JSON.stringify({ releaseId: release.id }),
      });
      expect(res.status).toBe(200);
    }
    await eventually(async () => (await metric(h, 'flotilla_mqtt_queued_dropped_total')) === 5, 5000, 'five messages not kept');

    // Listening before the CONNACK: the kept messages follow it at once.
    const revs: number[] = [];
    const back = mqttConnect(h.cp.mqttUrl, {
      clientId: device.deviceId,
      username: device.deviceId,
      password: device.password,
      protocolVersion: 4,
      clean: false,
      reconnectPeriod: 0,
    });
    const current = new Promise<void>((resolve) =>
      back.on('message', (_topic, payload) => {
        const { rev } = openDesired(payload, device.releaseKeys);
        revs.push(rev);
        if (rev === 8) resolve();
      }),
    );
    await new Promise((resolve) => back.once('connect', resolve));
    // After the kept ones were delivered (and acknowledged: mqtt.js sends each PUBACK before the
    // next packet), so the answer finds room in the queue.
    await eventually(async () => revs.length === 3, 5000, 'the kept messages');
    await back.publishAsync(deviceTopic(device.deviceId, 'desired/get'), JSON.stringify({ schema: PROTOCOL_SCHEMA, rev: 0 }), { qos: 1 });
    await current;
    expect(revs).toEqual([1, 2, 3, 8]);
    await back.endAsync();
  });
});
