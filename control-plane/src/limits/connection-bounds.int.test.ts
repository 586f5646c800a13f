import { get as httpsGet } from 'node:https';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { connectAsync } from 'mqtt';
import { startHarness, type Harness } from '../testing/harness';
import { LockingSession } from '../testing/locking-session';
import { metricValue } from '../testing/metrics';
import type { ConnectionBounds } from './connection-bounds';

/**
 * A slow client on every listener (plain HTTP, HTTPS, MQTT, MQTT over TLS) is cut within its
 * bound, while ordinary clients are served meanwhile. The bounds are shortened for the test; the
 * production ones are the same code with larger numbers (connection-bounds.ts).
 */
const BOUNDS: ConnectionBounds = {
  headersMs: 300,
  requestMs: 500,
  keepAliveMs: 300,
  checkIntervalMs: 50,
  // Longer than the rest: the per-address test needs its handshakes to stay open while it counts them.
  tlsHandshakeMs: 1000,
  mqttConnectMs: 300,
  mqttLoginMs: 300,
  // send-stall.int.test.ts tests these.
  sendStallMs: 60_000,
  sendCheckMs: 5_000,
};
const MAX_CONNECTIONS_PER_ADDRESS = 6;
/** What a bound may be overshot by: the check interval, a busy event loop. Node's and aedes' defaults are 5 s to 300 s. */
const SLACK_MS = 1000;

let h: Harness;
beforeAll(async () => {
  h = await startHarness(
    {
      tls: { source: { kind: 'generated', extraNames: [] }, httpsPort: 0, mqttsPort: 0 },
      limits: { maxConnectionsPerAddress: MAX_CONNECTIONS_PER_ADDRESS },
    },
    { connectionBounds: BOUNDS },
  );
});
afterAll(() => h?.close());

/** Lenient: a counter not yet counted has no sample. */
async function metric(name: string, labels: Record<string, string>): Promise<number> {
  return metricValue(await (await h.api('/metrics')).text(), name, labels);
}

function port(url: string): number {
  return Number(new URL(url).port);
}

/** Resolves with the ms from now until `socket` closes; rejects if it is still open after `withinMs`. */
function closedWithin(socket: Socket, withinMs: number): Promise<number> {
  const started = performance.now();
  // Reading keeps the socket flowing, so that the peer's close is seen.
  socket.resume();
  socket.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the connection was still open after ${withinMs} ms`));
    }, withinMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(performance.now() - started);
    });
  });
}

/** Writes `line` every 50 ms until the socket closes: a client that keeps the connection busy without finishing. */
function trickle(socket: Socket, line: string): void {
  const timer = setInterval(() => socket.write(line), 50);
  socket.once('close', () => clearInterval(timer));
}

function connected(socket: Socket, event = 'connect'): Promise<Socket> {
  return new Promise((resolve, reject) => socket.once(event, () => resolve(socket)).once('error', reject));
}

const plainHttp = (): Promise<Socket> => connected(tcpConnect(port(h.cp.httpUrl), '127.0.0.1'));
const https = (): Promise<TLSSocket> =>
  connected(
    tlsConnect({ host: '127.0.0.1', port: port(h.cp.tls!.httpsUrl), ca: h.cp.tls!.caCertificates }),
    'secureConnect',
  ) as Promise<TLSSocket>;

async function healthy(): Promise<void> {
  expect((await fetch(`${h.cp.httpUrl}/healthz`)).status).toBe(200);
  const status = await new Promise<number | undefined>((resolve, reject) =>
    httpsGet(`${h.cp.tls!.httpsUrl}/healthz`, { ca: h.cp.tls!.caCertificates }, (res) => resolve(res.resume().statusCode)).on(
      'error',
      reject,
    ),
  );
  expect(status).toBe(200);
}

describe('HTTP and HTTPS', () => {
  it('cuts requests whose headers never end, on both listeners, and serves others meanwhile', async () => {
    const slow = [await plainHttp(), await https()];
    const cut = slow.map((s) => closedWithin(s, BOUNDS.headersMs + SLACK_MS));
    for (const s of slow) {
      s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      trickle(s, 'X-Slow: 1\r\n');
    }
    await healthy();
    await Promise.all(cut);
  });

  it('cuts requests whose body never ends', async () => {
    const slow = [await plainHttp(), await https()];
    const cut = slow.map((s) => closedWithin(s, BOUNDS.requestMs + SLACK_MS));
    for (const s of slow) {
      s.write(
        'POST /api/v1/devices/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n',
      );
      trickle(s, ' ');
    }
    await healthy();
    await Promise.all(cut);
  });

  it('closes a connection that never sends a byte, and an idle keep-alive one', async () => {
    const silent = closedWithin(await plainHttp(), BOUNDS.headersMs + SLACK_MS);
    const idle = await https();
    const response = new Promise<void>((resolve) => idle.once('data', () => resolve()));
    idle.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await response;
    // Node gives an idle keep-alive socket one more second than keepAliveTimeout (its timer's margin).
    await Promise.all([silent, closedWithin(idle, BOUNDS.keepAliveMs + 1000 + SLACK_MS)]);
  });

  it('closes a TLS connection whose handshake never starts', async () => {
    await closedWithin(await connected(tcpConnect(port(h.cp.tls!.httpsUrl), '127.0.0.1')), BOUNDS.tlsHandshakeMs + SLACK_MS);
  });

  it.each(['plain', 'TLS'])('refuses a %s HTTP connection beyond the per-address cap', async (listener) => {
    const before = await metric('flotilla_http_connections_refused_total', {});
    const where = port(listener === 'TLS' ? h.cp.tls!.httpsUrl : h.cp.httpUrl);
    // Connections of earlier tests may still be open in their bounds: some of the first may be refused too.
    const opened = await Promise.all(
      Array.from({ length: MAX_CONNECTIONS_PER_ADDRESS + 1 }, () => connected(tcpConnect(where, '127.0.0.1'))),
    );
    await Promise.all(opened.map((s) => closedWithin(s, BOUNDS.tlsHandshakeMs + SLACK_MS)));
    expect(await metric('flotilla_http_connections_refused_total', {})).toBeGreaterThan(before);
  });
});

/** The first bytes of an MQTT 3.1.1 CONNECT (MQTT-3.1) declaring `remaining` bytes after its fixed header. */
function connectHeader(remaining: number): Buffer {
  const length: number[] = [];
  let n = remaining;
  do {
    length.push((n % 128) | (n >= 128 ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  return Buffer.from([0x10, ...length, 0x00, 0x04, ...Buffer.from('MQTT'), 0x04]);
}

describe('MQTT and MQTT over TLS', () => {
  const mqtt = (): Promise<Socket> => connected(tcpConnect(port(h.cp.mqttUrl), '127.0.0.1'));
  const mqtts = (): Promise<TLSSocket> =>
    connected(
      tlsConnect({ host: '127.0.0.1', port: port(h.cp.tls!.mqttsUrl), ca: h.cp.tls!.caCertificates }),
      'secureConnect',
    ) as Promise<TLSSocket>;

  it('closes connections that never send a whole CONNECT, and logs devices in meanwhile', async () => {
    const silent = [await mqtt(), await mqtts()];
    const half = await mqtt();
    half.write(connectHeader(40));
    const cut = [...silent, half].map((s) => closedWithin(s, BOUNDS.mqttConnectMs + SLACK_MS));
    const device = await h.registerDevice();
    await (await h.connectDevice(device)).endAsync();
    await Promise.all(cut);
  });

  it('closes a TLS connection whose handshake never starts', async () => {
    const raw = await connected(tcpConnect(port(h.cp.tls!.mqttsUrl), '127.0.0.1'));
    await closedWithin(raw, BOUNDS.tlsHandshakeMs + SLACK_MS);
  });

  it('closes a CONNECT declaring more than a login needs as soon as its length is read', async () => {
    const before = await metric('flotilla_uplink_messages_dropped_total', { reason: 'oversized' });
    const big = await mqtt();
    big.write(connectHeader(100_000));
    await closedWithin(big, BOUNDS.mqttConnectMs + SLACK_MS);
    expect(await metric('flotilla_uplink_messages_dropped_total', { reason: 'oversized' })).toBe(before + 1);
  });

  it('counts handshakes in progress against the per-address cap', async () => {
    const before = await metric('flotilla_mqtt_connections_refused_total', { reason: 'per-address-cap' });
    const mqttsPort = port(h.cp.tls!.mqttsUrl);
    const held = await Promise.all(
      Array.from({ length: MAX_CONNECTIONS_PER_ADDRESS }, () => connected(tcpConnect(mqttsPort, '127.0.0.1'))),
    );
    const closed = held.map((s) => closedWithin(s, BOUNDS.tlsHandshakeMs + SLACK_MS));
    const beyond = await connected(tcpConnect(mqttsPort, '127.0.0.1'));
    await closedWithin(beyond, BOUNDS.tlsHandshakeMs + SLACK_MS);
    expect(await metric('flotilla_mqtt_connections_refused_total', { reason: 'per-address-cap' })).toBe(before + 1);
    await Promise.all(closed);
  });

  it('answers "server unavailable" to a login whose credential read hangs, and logs known devices in meanwhile', async () => {
    const known = await h.registerDevice();
    const side = await LockingSession.open(h.db.url);
    try {
      // A device not in memory is read from the database: held here behind a lock, as a stuck database would hold it.
      await side.query('BEGIN');
      await side.query('LOCK TABLE devices IN ACCESS EXCLUSIVE MODE');
      const stuck = connectAsync(h.cp.mqttUrl, {
        clientId: 'not-in-memory',
        username: 'not-in-memory',
        password: 'some-password-0123456789',
        protocolVersion: 4,
        reconnectPeriod: 0,
        connectTimeout: BOUNDS.mqttLoginMs + SLACK_MS,
      });
      await (await h.connectDevice(known)).endAsync();
      await expect(stuck).rejects.toMatchObject({ code: 3 });
    } finally {
      await side.query('ROLLBACK');
      await side.end();
    }
    expect(await metric('flotilla_mqtt_logins_refused_total', { reason: 'login-timeout' })).toBe(1);
  });

  /** A device logged in over a raw socket, so that the test sends exactly the packets it means to. */
  async function rawDevice(): Promise<Socket> {
    const { deviceId, password } = await h.registerDevice();
    const str = (v: string): Buffer => Buffer.concat([Buffer.from([0, Buffer.byteLength(v)]), Buffer.from(v)]);
    const body = Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 30]), str(deviceId), str(deviceId), str(password)]);
    const socket = await mqtt();
    const connack = new Promise<Buffer>((resolve) => socket.once('data', resolve));
    socket.write(Buffer.concat([Buffer.from([0x10, body.length]), body]));
    expect([...(await connack)]).toEqual([0x20, 2, 0, 0]);
    return socket;
  }

  it('closes a connection flooding PINGREQ or sending a SUBSCRIBE far larger than a device needs', async () => {
    const before = await metric('flotilla_mqtt_control_packet_floods_total', {});
    const pinging = await rawDevice();
    const pingingClosed = closedWithin(pinging, SLACK_MS);
    pinging.write(Buffer.alloc(200, Buffer.from([0xc0, 0])));
    const subscribing = await rawDevice();
    // 2 + 200 × (2 + 21 + 1) bytes of (refused) topic filters: far beyond the two topics a device has.
    const filters = Array.from({ length: 200 }, (_, i) =>
      Buffer.concat([Buffer.from([0, 21]), Buffer.from(`flotilla/v1/d/x${String(i).padStart(4, '0')}/#`), Buffer.from([1])]),
    );
    const body = Buffer.concat([Buffer.from([0, 1]), ...filters]);
    const subscribingClosed = closedWithin(subscribing, SLACK_MS);
    subscribing.write(Buffer.concat([Buffer.from([0x82, (body.length % 128) | 0x80, body.length >> 7]), body]));
    await Promise.all([pingingClosed, subscribingClosed]);
    expect(await metric('flotilla_mqtt_control_packet_floods_total', {})).toBe(before + 2);
  });
});
