import { spawn } from 'node:child_process';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { makeTestTls } from '../../../test/support/test-tls';
import { CONNECTION_BOUNDS } from '../limits/connection-bounds';
import { listenHttps } from '../tls/https-server';
import { MQTT_LISTEN_BACKLOG, listenOn } from './listen-backlog';

/**
 * Integration (real TCP on loopback, the kernel's accept queue): while the broker's process is
 * busy (its event loop blocked, as in a reconnect storm), a burst of connects is completed by the
 * kernel only up to the listener's backlog; beyond it each SYN is dropped and retried 1 s later.
 * The MQTT listeners take MQTT_LISTEN_BACKLOG (the HTTPS one too: it carries MQTT over WebSocket);
 * Node's default (511) is shown losing the same burst.
 */
const BURST = 1500;

/** Another process opens BURST connections while this one is blocked; how many the kernel completed within 1 s. */
async function completedWhileBusy(server: Server): Promise<number> {
  const { port } = server.address() as AddressInfo;
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const net = require('node:net');
       process.stdin.once('data', () => {
         let connected = 0;
         const sockets = Array.from({ length: ${BURST} }, () => net.connect(${port}, '127.0.0.1', () => connected++).on('error', () => {}));
         setTimeout(() => { process.stdout.write(String(connected)); sockets.forEach((s) => s.destroy()); process.exit(0); }, 1000);
       });
       process.stdout.write('ready');`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const output: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  await new Promise<void>((resolve, reject) => child.stdin.write('go\n', (e) => (e ? reject(e) : resolve())));
  // Busy for 2 s: nothing is accepted meanwhile, so only the kernel's queue holds connections.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000);
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return Number(output.join('').replace('ready', ''));
}

async function withServer<T>(listen: (server: Server) => Promise<unknown>, use: (server: Server) => Promise<T>): Promise<T> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined).on('close', () => sockets.delete(socket));
  });
  await listen(server);
  try {
    return await use(server);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

it(`completes a burst of ${BURST} connects while the process is busy (backlog ${MQTT_LISTEN_BACKLOG})`, async () => {
  const completed = await withServer((server) => listenOn(server, 0, '127.0.0.1'), completedWhileBusy);
  expect(completed).toBe(BURST);
}, 30_000);

it("drops part of the same burst with Node's default backlog (what the listeners had before)", async () => {
  const completed = await withServer(
    (server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)),
    completedWhileBusy,
  );
  expect(completed).toBeLessThan(BURST);
}, 30_000);

it(`completes the same burst on the HTTPS listener, which carries MQTT over WebSocket`, async () => {
  const tls = await makeTestTls();
  const https = await listenHttps({ host: '127.0.0.1', port: 0 }, { ...tls.server, deviceCaPem: tls.caPem }, CONNECTION_BOUNDS);
  try {
    expect(await completedWhileBusy(https.server)).toBe(BURST);
  } finally {
    await https.close();
  }
}, 30_000);
