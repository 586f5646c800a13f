import { CHANNEL_SCHEMAS, DEVICE_TO_CLOUD, deviceTopic, type DeviceChannel } from '@flotilla/shared';
import type { MqttClient } from 'mqtt';
import { startHarness, type Harness } from '../../control-plane/src/testing/harness';
import { deviceReadRoutes, FLEET_READ_ROUTES, readOk } from '../support/read-routes';
import { extremeInstance, leaves, pastLimits, withValue } from '../support/schema-leaves';
import { waitFor } from '../support/wait';

/**
 * One device sends, over MQTT on every uplink channel, every field at its limits (accepted and
 * stored) and one step past them (refused at the edge, counted); a second device's samples,
 * reports and events travel in the same batches and are all stored; then every read route
 * answers 200. The whole control plane, real broker over TCP, real PostgreSQL.
 */
let h: Harness;
let extreme: { deviceId: string; client: MqttClient };
let sane: { deviceId: string; client: MqttClient };
/** Channels whose messages are stored or acted on; `status` is presence, sent by the broker's will too. */
const CHANNELS = DEVICE_TO_CLOUD.filter((c) => c !== 'status');

beforeAll(async () => {
  h = await startHarness();
  const connect = async (name: string) => {
    const d = await h.registerDevice(name);
    return { deviceId: d.deviceId, client: await h.connectDevice(d) };
  };
  extreme = await connect('extreme');
  sane = await connect('sane');
}, 30_000);
afterAll(() => h?.close());

const publish = (d: { deviceId: string; client: MqttClient }, channel: DeviceChannel, body: unknown) =>
  d.client.publishAsync(deviceTopic(d.deviceId, channel), JSON.stringify(body), { qos: 1 });
const count = async (sql: string, params: unknown[]) => Number((await h.db.query<{ n: string }>(sql, params))[0]!.n);
const metric = async (line: string) => {
  const text = (await readOk((p) => h.api(p), '/metrics')) as string;
  return Number(
    text
      .split('\n')
      .find((l) => l.startsWith(`${line} `))
      ?.split(' ')[1] ?? 0,
  );
};

/** One message per past-limit kind of value (number over, string over, NUL, lone surrogate, timestamp), at most 8 per channel. */
function pastLimitMessages(channel: DeviceChannel): unknown[] {
  const schema = CHANNEL_SCHEMAS[channel];
  const base = extremeInstance(schema, 'max');
  const seen = new Set<string>();
  const out: unknown[] = [];
  for (const leaf of leaves(schema)) {
    pastLimits(leaf).forEach((bad, i) => {
      const kind = `${leaf.kind}:${leaf.kind === 'string' && leaf.timestamp ? 't' : ''}${i}`;
      if (seen.has(kind)) return;
      seen.add(kind);
      out.push(withValue(base, leaf.path, bad));
    });
  }
  // Within the smallest per-channel quota (inventory: 10 a minute, limits/device-limits.ts) with the two extremes;
  // every field past every limit is refused in shared/src/protocol/storable.test.ts.
  return out.slice(0, 8);
}

it('stores every field at its limits, refuses every field past them, and loses nothing of the other device', async () => {
  const rejectedBefore = await metric('flotilla_uplink_messages_dropped_total{reason="rejected"}');
  let refused = 0;
  const saneSamples = 20;
  for (let round = 0; round < saneSamples; round++) {
    const at = new Date(Date.now() - 60_000 + round * 1000).toISOString();
    // The sane device's data interleaved with the extreme one's, so they share batches.
    await publish(sane, 'telemetry', { schema: 1, samples: [{ at, cpuPercent: 10, memUsedBytes: 1, memTotalBytes: 2, temperatureC: 40 }] });
    await publish(sane, 'events', { schema: 1, at, kind: 'apply-started', rev: round, message: `sane ${round}` });
    if (round === 0) {
      await Promise.all(CHANNELS.flatMap((c) => (['max', 'min'] as const).map((end) => publish(extreme, c, extremeMessage(c, end)))));
    }
    if (round === 1) {
      const bad = CHANNELS.flatMap((c) => pastLimitMessages(c).map((m) => [c, m] as const));
      refused = bad.length;
      await Promise.all(bad.map(([c, m]) => publish(extreme, c, m)));
    }
  }
  await publish(sane, 'reported', {
    schema: 1,
    at: new Date().toISOString(),
    agentVersion: 'sane',
    rev: 0,
    update: idle(),
    components: [],
  });

  await waitFor("the sane device's samples, events and report", async () => {
    const [samples, events, reports] = await Promise.all([
      count('SELECT count(*) AS n FROM telemetry_samples WHERE device_id = $1', [sane.deviceId]),
      count(`SELECT count(*) AS n FROM device_events WHERE device_id = $1 AND message LIKE 'sane %'`, [sane.deviceId]),
      count(`SELECT count(*) AS n FROM devices WHERE id = $1 AND reported->>'agentVersion' = 'sane'`, [sane.deviceId]),
    ]);
    return samples === saneSamples && events === saneSamples && reports === 1 ? true : undefined;
  });
  // The extreme device's accepted messages are stored too: 2 messages × 2 samples, 2 events, its report and inventory.
  await waitFor("the extreme device's rows", async () => {
    const [samples, events, stored] = await Promise.all([
      count('SELECT count(*) AS n FROM telemetry_samples WHERE device_id = $1', [extreme.deviceId]),
      count(`SELECT count(*) AS n FROM device_events WHERE device_id = $1 AND kind <> 'message-not-stored'`, [extreme.deviceId]),
      count('SELECT count(*) AS n FROM devices WHERE id = $1 AND reported IS NOT NULL AND inventory IS NOT NULL', [extreme.deviceId]),
    ]);
    return samples === 4 && events === 2 && stored === 1 ? true : undefined;
  });
  await waitFor('every past-limit message refused at the edge', async () =>
    (await metric('flotilla_uplink_messages_dropped_total{reason="rejected"}')) - rejectedBefore === refused ? true : undefined,
  );
  // Nothing accepted was refused by the database.
  expect(await count(`SELECT count(*) AS n FROM device_events WHERE kind = 'message-not-stored'`, [])).toBe(0);

  for (const path of [...FLEET_READ_ROUTES, ...deviceReadRoutes(extreme.deviceId), ...deviceReadRoutes(sane.deviceId)]) {
    await readOk((p) => h.api(p), path);
  }
}, 90_000);

/** When the extreme telemetry samples are taken: one clock reading for every message. */
const EXTREME_SAMPLES_AT = Date.now();

/**
 * Every field at its `end`, except the samples' times: the uplink drops samples outside the clock
 * window around the server's time (limits/clock-window.ts), so they carry now (each its own); the timestamp
 * limits themselves reach the database through events (kept, at server time) and are cast into
 * the columns by storable-columns.int.test.ts.
 */
function extremeMessage(channel: DeviceChannel, end: 'max' | 'min'): unknown {
  const message = extremeInstance(CHANNEL_SCHEMAS[channel], end);
  if (channel !== 'telemetry') return message;
  const t = message as { samples: { at: string }[] };
  // A millisecond apart, each message a second of its own: a device's (device, at) is one sample,
  // stored once. One clock reading for both ends, or the two messages could share a millisecond.
  const first = EXTREME_SAMPLES_AT - (end === 'max' ? 0 : 1000);
  return { ...t, samples: t.samples.map((s, i) => ({ ...s, at: new Date(first - i).toISOString() })) };
}

function idle() {
  return { phase: 'idle', active: null, candidate: null, failedRev: null, lastFailure: null };
}
