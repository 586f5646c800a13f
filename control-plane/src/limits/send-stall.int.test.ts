import { once } from 'node:events';
import { connect as tcpConnect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { deviceTopic } from '@flotilla/shared';
import { DEVICE_BROKER, type DeviceBroker } from '../broker/device-broker';
import { startHarness, type Harness } from '../testing/harness';
import { metricValue } from '../testing/metrics';
import { CONNECTION_BOUNDS, type ConnectionBounds } from './connection-bounds';
import { SendStallWatch } from './send-stall-watch';

/**
 * A client that asks for an answer and stops reading is cut once nothing of it has left for
 * `sendStallMs`; a slow reader that keeps taking bytes, and a connection with nothing to send,
 * are not. Real sockets on loopback, whose kernel buffers take a few MiB before the process
 * holds the rest: the answers here are larger than that.
 */
const STALL = { sendStallMs: 1000, sendCheckMs: 100 };
/** What a bound may be overshot by: the check interval, a busy event loop. */
const SLACK_MS = 1500;
const ANSWER_BYTES = 24 * 2 ** 20;

/**
 * Resolves with the ms until `socket` closes; rejects if it is still open after `withinMs`. A
 * client that does not read does not see its peer's close: this is the server's side.
 */
function closedWithin(socket: Socket, withinMs: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the connection was still open after ${withinMs} ms`)), withinMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(performance.now() - started);
    });
  });
}

describe('SendStallWatch on plain sockets', () => {
  let server: Server;
  let watch: SendStallWatch;
  let cut = 0;
  const accepted: Socket[] = [];

  beforeAll(async () => {
    watch = new SendStallWatch(STALL);
    watch.onCut = () => cut++;
    // Each connection is sent ANSWER_BYTES at once, as a large answer is, once it says "go".
    server = createServer((socket) => {
      accepted.push(socket);
      watch.watch(socket);
      socket.on('error', () => undefined);
      socket.once('data', () => socket.end(Buffer.alloc(ANSWER_BYTES)));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  afterAll(async () => {
    watch.stop();
    for (const s of accepted) s.destroy();
    server.close();
  });

  const client = async (): Promise<Socket> => {
    const socket = tcpConnect((server.address() as AddressInfo).port, '127.0.0.1');
    await once(socket, 'connect');
    return socket;
  };

  it('cuts a client that stops reading, and leaves a quiet connection and a slow reader alone', async () => {
    const quiet = await client();
    const slow = await client();
    const stuck = await client();
    // A pause after every chunk read: the answer takes longer than the bound to arrive, but bytes
    // keep leaving the server. (The kernel wakes a writer once a third of its send buffer is free,
    // so progress is seen in steps of up to ~1.4 MiB here; the bound is far above such a step at
    // any rate a client can be served at.)
    let received = 0;
    const started = performance.now();
    slow.on('data', (chunk: Buffer) => {
      received += chunk.length;
      slow.pause();
      setTimeout(() => slow.resume(), 5);
    });
    const slowDone = once(slow, 'end');
    stuck.pause();
    slow.write('go');
    stuck.write('go');

    expect(await closedWithin(accepted[2]!, STALL.sendStallMs + SLACK_MS)).toBeGreaterThanOrEqual(STALL.sendStallMs - STALL.sendCheckMs);
    await slowDone;
    expect(received).toBe(ANSWER_BYTES);
    expect(performance.now() - started).toBeGreaterThan(STALL.sendStallMs);
    // The quiet connection was open all along, longer than the bound: the server's side of it
    // (the client's, unread, would not see a close).
    expect(accepted[0]!.destroyed).toBe(false);
    expect(cut).toBe(1);
    quiet.destroy();
    slow.destroy();
  });
});

describe('the control plane', () => {
  const BOUNDS: ConnectionBounds = { ...CONNECTION_BOUNDS, ...STALL };
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness(
      { tls: { source: { kind: 'generated', extraNames: [] }, httpsPort: 0, mqttsPort: 0 } },
      { connectionBounds: BOUNDS },
    );
  });
  afterAll(() => h?.close());

  /** Asks, on one connection and without reading, for the API's document as many times as it takes to be larger than the kernel takes. */
  async function askAndNeverRead(socket: Socket): Promise<void> {
    const document = await h.api('/api/v1/openapi.json');
    const copies = Math.ceil(ANSWER_BYTES / (await document.arrayBuffer()).byteLength);
    socket.pause();
    socket.write(`GET /api/v1/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${h.cp.apiKey}\r\n\r\n`.repeat(copies));
  }

  it('cuts a plain HTTP client and an HTTPS client that stop reading their answers, and counts them', async () => {
    const plain = tcpConnect(Number(new URL(h.cp.httpUrl).port), '127.0.0.1');
    await once(plain, 'connect');
    const secure = tlsConnect({ host: '127.0.0.1', port: Number(new URL(h.cp.tls!.httpsUrl).port), ca: h.cp.tls!.caCertificates });
    await once(secure, 'secureConnect');
    await Promise.all([askAndNeverRead(plain), askAndNeverRead(secure)]);

    // The clients do not read, so they cannot see the close: the server's count says it.
    await untilStalled('http', 2);
    // Reading again, each gets what the kernels held, then the end: the answers were cut short.
    await Promise.all([plain, secure].map((socket) => closedWithin(socket.resume(), 10_000)));
    expect(await stalled('http')).toBe(2);
    expect((await fetch(`${h.cp.httpUrl}/healthz`)).status).toBe(200);
  });

  it('cuts a device that stops reading, and every delivery that waited on it settles', async () => {
    const device = await h.registerDevice('stalled');
    // No keep-alive: the client itself would close a connection whose pings go unanswered.
    const client = await h.connectDevice(device, { keepalive: 0, reconnectPeriod: 0 });
    await client.subscribeAsync(deviceTopic(device.deviceId, 'cmd'), { qos: 1 });
    client.stream.pause();
    const broker = h.cp.app.get<DeviceBroker>(DEVICE_BROKER);
    const message = Buffer.alloc(200 * 1024, 'x');
    const deliveries = Array.from({ length: Math.ceil(ANSWER_BYTES / message.length) }, () =>
      broker.publishToDevice(device.deviceId, 'cmd', message),
    );

    await untilStalled('mqtt', 1);
    // Each settles, handed over or failed: none holds a place in a fan-out's window for good.
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      Promise.allSettled(deliveries).then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 10_000))),
    ]);
    clearTimeout(timer);
    expect(settled).toBe(true);
    client.end(true);
  });

  /** Lenient: a counter not yet counted has no sample. */
  async function stalled(listener: 'http' | 'mqtt'): Promise<number> {
    return metricValue(await (await h.api('/metrics')).text(), 'flotilla_send_stalled_total', { listener });
  }

  async function untilStalled(listener: 'http' | 'mqtt', count: number): Promise<void> {
    const deadline = performance.now() + STALL.sendStallMs + SLACK_MS + 3000;
    while ((await stalled(listener)) < count) {
      if (performance.now() > deadline) throw new Error(`${count} ${listener} connection(s) not cut within their bound`);
      await new Promise((resolve) => setTimeout(resolve, STALL.sendCheckMs));
    }
  }
});
