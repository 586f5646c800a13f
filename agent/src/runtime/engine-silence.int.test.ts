import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineImages } from '../delta/engine-images';
import { DockerRuntime } from './docker-runtime';
import { EngineClient } from './engine-client';

/**
 * A hung dockerd, played by an HTTP server on a unix socket that accepts calls and then says
 * nothing (or stops half way through an answer). Expected: every call gives up after the
 * client's silence limit with a transient `engine-silent` error; a stream the caller marks as
 * allowed to be quiet (followed logs) is left alone.
 */
const LIMIT_MS = 300;

let dir: string;
let server: Server;
let handler: (req: IncomingMessage, res: ServerResponse) => void;
let engine: EngineClient;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fl-silent-'));
  server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(join(dir, 'engine.sock'), resolve));
  engine = new EngineClient({ socketPath: join(dir, 'engine.sock') }, LIMIT_MS);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

it('gives up on a call the engine never answers, and says which', async () => {
  handler = () => undefined;
  const started = performance.now();
  await expect(new DockerRuntime(engine).engineInfo()).rejects.toMatchObject({
    code: 'engine-failed',
    terminal: false,
    message: expect.stringMatching(/could not read engine info: the container engine sent nothing for 0\.3 s on GET \/info;/),
  });
  expect(performance.now() - started).toBeLessThan(LIMIT_MS * 20);
});

it('gives up on an answer that stops half way, as a stalled pull', async () => {
  handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"status":"Pulling fs layer","id":"a"}\n');
  };
  await expect(new DockerRuntime(engine).pullImage('127.0.0.1:5000/stalled:1')).rejects.toMatchObject({
    code: 'image-pull-failed',
    terminal: false,
    message: expect.stringMatching(/sent nothing for 0\.3 s on POST \/images\/create/),
  });
});

it('gives up on an image export for a delta the engine never sends', async () => {
  handler = () => undefined;
  await expect(new EngineImages(engine).save('127.0.0.1:5000/base:1', join(dir, 'base.tar'))).rejects.toMatchObject({
    code: 'engine-silent',
    message: expect.stringMatching(/sent nothing for 0\.3 s on GET \/images\/127\.0\.0\.1%3A5000%2Fbase%3A1\/get/),
  });
});

it('leaves a followed log alone while the container is quiet', async () => {
  let quietFor = 0;
  handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/vnd.docker.raw-stream' });
    const opened = performance.now();
    setTimeout(() => {
      quietFor = performance.now() - opened;
      const line = Buffer.from('2026-12-07T00:00:00.000000000Z late line\n');
      const header = Buffer.alloc(8);
      header[0] = 1;
      header.writeUInt32BE(line.length, 4);
      res.end(Buffer.concat([header, line]));
    }, LIMIT_MS * 3);
  };
  const text = await new DockerRuntime(engine).logs('quiet', { followMs: LIMIT_MS * 20 });
  expect(quietFor).toBeGreaterThanOrEqual(LIMIT_MS * 3 - 5);
  expect(text).toContain('late line');
});

it('does not carry one call’s limit over to the next call on the same kept-alive socket', async () => {
  handler = (_req, res) => res.end('{"Architecture":"aarch64","DockerRootDir":"/var/lib/docker"}');
  expect((await new DockerRuntime(engine).engineInfo()).platform).toEqual({ os: 'linux', architecture: 'arm64' });
  // An idle pooled socket outliving the limit is not an engine that went silent.
  await new Promise((resolve) => setTimeout(resolve, LIMIT_MS * 2));
  expect((await new DockerRuntime(engine).engineInfo()).platform).toEqual({ os: 'linux', architecture: 'arm64' });
});
