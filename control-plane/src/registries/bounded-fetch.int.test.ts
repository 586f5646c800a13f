import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { boundedGet, MAX_REGISTRY_JSON_BYTES } from './bounded-fetch';
import { imageSizeLookup } from './image-sizes';

/**
 * Integration (a real HTTP registry on 127.0.0.1 that answers a manifest without end): a rollout's
 * dry run reads it within MAX_REGISTRY_JSON_BYTES and gives the size up, instead of holding what
 * the registry sends in memory until the request's 5 s timeout.
 */
let server: Server;
let sent = 0;
let closed: Promise<void>;
beforeAll(async () => {
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    closed = new Promise((resolve) => res.on('close', resolve));
    const pump = (): void => {
      while (!res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

it('gives up an answer without end once it passes the bound, and closes the connection', async () => {
  const { port } = server.address() as AddressInfo;
  const sizeOf = imageSizeLookup(async () => undefined, boundedGet);
  await expect(sizeOf(`127.0.0.1:${port}/app@sha256:${'0'.repeat(64)}`, 'arm64')).resolves.toBeUndefined();
  await closed;
  // Before (fetch's own arrayBuffer): read on for the 5 s timeout, gigabytes over loopback.
  expect(sent).toBeLessThan(MAX_REGISTRY_JSON_BYTES + 16 * 1024 ** 2);
});
