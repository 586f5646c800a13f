import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { startHarness, type Harness } from '../testing/harness';

/**
 * Request targets Node's parser lets through but that are no URL (`GET http://[ HTTP/1.1`), sent
 * by anyone who can reach a port: on the plain API port (a route), and as a WebSocket upgrade on
 * the HTTPS port (MQTT over WebSocket), which no framework wraps.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ tls: { source: { kind: 'generated', extraNames: [] }, httpsPort: 0, mqttsPort: 0 } });
});
afterAll(() => h?.close());

const TARGETS = ['http://[', 'http://a%zz/mqtt', '//[/mqtt'];

/** Writes `head` and resolves with everything the server sent once the connection ends (closed or reset). */
function exchange(socket: Socket, head: string): Promise<string> {
  let answer = '';
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
  return new Promise((resolve) => {
    socket.once('close', () => resolve(answer));
    socket.on('error', () => undefined);
    socket.write(head);
  });
}

function hostAndPort(url: string): { host: string; port: number } {
  const { hostname, port } = new URL(url);
  return { host: hostname, port: Number(port) };
}

it('closes an upgrade on the HTTPS port whose target is no URL, and goes on serving', async () => {
  const https = hostAndPort(h.cp.tls!.httpsUrl);
  for (const target of TARGETS) {
    const socket = tlsConnect({ ...https, rejectUnauthorized: false });
    await new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    const upgrade = [
      `GET ${target} HTTP/1.1`,
      'Host: x',
      'Connection: Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ];
    await exchange(socket, `${upgrade.join('\r\n')}\r\n\r\n`);
  }
  expect((await h.api('/healthz')).status).toBe(200);
});

it('answers such a target 400 malformed_url on the API port, not an internal error', async () => {
  const plain = hostAndPort(h.cp.httpUrl);
  for (const target of TARGETS) {
    const socket = tcpConnect(plain);
    const answer = await exchange(socket, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect([target, answer.split('\r\n')[0], /"code":"([a-z_]+)"/.exec(answer)?.[1]]).toEqual([
      target,
      'HTTP/1.1 400 Bad Request',
      'malformed_url',
    ]);
  }
});
